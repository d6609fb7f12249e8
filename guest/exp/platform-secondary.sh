# A secondary's part of the platform checks: what it sees, and that sleep returns on
# its own timers (it has no PIT, HPET or RTC; the LAPIC timer's period is the primary's).
. /exp/lib.sh
sh /exp/report.sh
before=$(uptime)
sleep 1
kv sleep_1_s "$(awk -v a="$before" -v b="$(uptime)" 'BEGIN {printf "%.3f", b - a}')"
