// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: a virtual Ethernet link from this kernel to each other kernel
 * of the machine.
 *
 * Every kernel has one point-to-point Ethernet device per possible peer, pcn<peer>. A
 * frame sent on pcn2 travels to kernel 2 as one message in the messaging layer's
 * channel (arch/x86/kernel/popcorn/kmsg_chan.c), rings of their own for this driver,
 * and kernel 2's NAPI poll on its pcn<sender> copies it once, from the ring into an
 * skb. The rings are driven as a NIC's descriptor rings are: a sleeping poll is woken
 * by an IPI; a frame that does not fit this poll's budget stays in the ring; a sender
 * stops its queue while a largest frame might not fit and is woken by the receiver's
 * IPI once a quarter of the ring is free. The carrier follows the peer: on while its
 * heartbeat moves, off when it stops (frames to it are then dropped and counted), on
 * again when it boots again. /proc/popcorn_net counts, per link, what the rings and
 * the queue did.
 *
 * Each message is a small header, then the Ethernet frame. The header carries what a
 * NIC with checksum offload would know: that the sender's stack had verified the
 * frame's TCP/UDP checksum (a frame the primary forwards from its NIC), or that the
 * sender left it to finish (CHECKSUM_PARTIAL, with where it starts and where it
 * goes), which the receiver then does, once. This kernel sends no partial checksums
 * (see pcn_add()), but takes them.
 *
 * A message comes from another kernel and is not trusted: its length is checked
 * against this device's MTU and the checksum offsets against the frame before
 * anything else; the network stack then treats its bytes as it treats any NIC's.
 */
#define pr_fmt(fmt) "popcorn net: " fmt

#include <linux/delay.h>
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/moduleparam.h>
#include <linux/netdevice.h>
#include <linux/popcorn_kmsg.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>

#define NR_KERNELS	POPCORN_KMSG_MAX_KERNELS
#define PCN_MAX_MTU	(POPCORN_KMSG_MAX_PAYLOAD - sizeof(struct pcn_hdr) - ETH_HLEN)
#define LINK_CHECK_MS	100
#define INJECT_WAIT_MS	1000	/* for room in the ring, per bad frame */

#define PCN_CSUM_PARTIAL	0x1	/* finish the checksum at csum_start + csum_offset */
#define PCN_CSUM_VALID		0x2	/* the sender's stack had verified it */
#define PCN_FLAGS		(PCN_CSUM_PARTIAL | PCN_CSUM_VALID)

/* Before every frame in its message. */
struct pcn_hdr {
	u8 flags;
	u8 reserved;
	__le16 csum_start;	/* from the start of the Ethernet header */
	__le16 csum_offset;	/* from csum_start */
	__le16 reserved2;
} __packed;

#define PCN_MAX_FRAME	(POPCORN_KMSG_MAX_PAYLOAD - sizeof(struct pcn_hdr))

struct pcn_priv {
	struct net_device *dev;
	unsigned int peer;
	struct napi_struct napi;
	atomic64_t stops;	/* the queue stopped: a largest frame might not fit */
	atomic64_t wakes;	/* and started again (here, or from the peer's IPI) */
	atomic64_t busy;	/* a frame found the ring full anyway (back to the qdisc) */
	u64 polls;
};

static struct net_device *devs[NR_KERNELS];

static void pcn_account_tx(struct net_device *dev, struct sk_buff *skb, int ret)
{
	if (!ret) {
		DEV_STATS_INC(dev, tx_packets);
		DEV_STATS_ADD(dev, tx_bytes, skb->len - sizeof(struct pcn_hdr));
		dev_consume_skb_any(skb);
		return;
	}
	if (ret == -EHOSTDOWN)
		DEV_STATS_INC(dev, tx_carrier_errors);
	DEV_STATS_INC(dev, tx_dropped);
	dev_kfree_skb_any(skb);
}

/* This device has no checksum offload: what it sends is complete, or was verified. */
static void pcn_push_hdr(struct sk_buff *skb)
{
	struct pcn_hdr *hdr = skb_push(skb, sizeof(*hdr));

	*hdr = (struct pcn_hdr){
		.flags = skb->ip_summed == CHECKSUM_UNNECESSARY ? PCN_CSUM_VALID : 0,
	};
}

/* The longest message a frame of this device's MTU makes. */
static u32 pcn_max_msg(const struct net_device *dev)
{
	return sizeof(struct pcn_hdr) + VLAN_ETH_HLEN + READ_ONCE(dev->mtu);
}

static bool pcn_room(struct pcn_priv *p)
{
	return !popcorn_kmsg_chan_room(p->peer, pcn_max_msg(p->dev));
}

/*
 * As a NIC stops while its ring may not hold another frame: the next frame then never
 * finds the ring full. The peer's tx_room wakes the queue; the check again after the
 * stop catches room freed before the stop, whose wake-up found the queue running.
 */
static void pcn_stop_if_full(struct pcn_priv *p)
{
	if (pcn_room(p))
		return;
	netif_stop_queue(p->dev);
	atomic64_inc(&p->stops);
	if (pcn_room(p)) {
		netif_wake_queue(p->dev);
		atomic64_inc(&p->wakes);
	}
}

static netdev_tx_t pcn_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct pcn_priv *p = netdev_priv(dev);
	int ret = -EHOSTDOWN;

	if (skb->len > PCN_MAX_FRAME || skb_linearize(skb) ||
	    skb_cow_head(skb, sizeof(struct pcn_hdr))) {
		pcn_account_tx(dev, skb, -EMSGSIZE);
		return NETDEV_TX_OK;
	}
	pcn_push_hdr(skb);
	if (netif_carrier_ok(dev))
		ret = popcorn_kmsg_chan_send(p->peer, skb->data, skb->len);	/* the one copy */
	if (ret == -EAGAIN) {
		/* Longer than the room kept free: the qdisc sends it again after the wake. */
		skb_pull(skb, sizeof(struct pcn_hdr));
		atomic64_inc(&p->busy);
		pcn_stop_if_full(p);
		if (netif_queue_stopped(dev))
			return NETDEV_TX_BUSY;
		ret = popcorn_kmsg_chan_send(p->peer, skb_push(skb, sizeof(struct pcn_hdr)),
					     skb->len);
	}
	pcn_account_tx(dev, skb, ret);
	if (!ret)
		pcn_stop_if_full(p);
	return NETDEV_TX_OK;
}

/* The peer freed room in the ring to it: from its IPI, or the heartbeat. */
static void pcn_tx_room(unsigned int peer)
{
	struct net_device *dev = peer < NR_KERNELS ? READ_ONCE(devs[peer]) : NULL;
	struct pcn_priv *p;

	if (!dev || !netif_running(dev) || !netif_queue_stopped(dev))
		return;
	p = netdev_priv(dev);
	if (pcn_room(p)) {
		netif_wake_queue(dev);
		atomic64_inc(&p->wakes);
	}
}

/*
 * The header's checksum state, onto the received frame. Offsets from a peer must lie
 * within the frame (skb_partial_csum_set() checks that): false if they do not.
 */
static bool pcn_set_csum(struct sk_buff *skb, const struct pcn_hdr *hdr)
{
	u8 flags = hdr->flags;

	if (flags & ~PCN_FLAGS)
		return false;
	if (flags & PCN_CSUM_PARTIAL) {
		if (!skb_partial_csum_set(skb, le16_to_cpu(hdr->csum_start),
					  le16_to_cpu(hdr->csum_offset)))
			return false;
		/* Finished here, so that a frame forwarded on is complete. */
		if (skb_checksum_help(skb))
			return false;
		flags = PCN_CSUM_VALID;
	}
	if (flags & PCN_CSUM_VALID)
		skb->ip_summed = CHECKSUM_UNNECESSARY;
	return true;
}

/*
 * A frame in the ring from the peer (the NAPI poll): its header read once into ours,
 * its bytes copied once, into the skb, after the length is checked.
 */
static void pcn_receive(struct pcn_priv *p, const struct popcorn_kmsg_chan_msg *m)
{
	struct net_device *dev = p->dev;
	struct pcn_hdr hdr;
	struct sk_buff *skb;
	u32 len = m->len;	/* the ring bounded it to a message's payload */

	if (len < sizeof(hdr) + ETH_HLEN || len - sizeof(hdr) > READ_ONCE(dev->mtu) + ETH_HLEN) {
		DEV_STATS_INC(dev, rx_length_errors);
		DEV_STATS_INC(dev, rx_errors);
		return;
	}
	memcpy(&hdr, m->data, sizeof(hdr));
	len -= sizeof(hdr);
	skb = napi_alloc_skb(&p->napi, len);
	if (!skb) {
		DEV_STATS_INC(dev, rx_dropped);
		return;
	}
	skb_put_data(skb, m->data + sizeof(hdr), len);
	if (!pcn_set_csum(skb, &hdr)) {
		DEV_STATS_INC(dev, rx_frame_errors);
		DEV_STATS_INC(dev, rx_errors);
		kfree_skb(skb);
		return;
	}
	DEV_STATS_INC(dev, rx_packets);
	DEV_STATS_ADD(dev, rx_bytes, len);
	skb->protocol = eth_type_trans(skb, dev);
	napi_gro_receive(&p->napi, skb);
}

/* Frames beyond the budget stay in the ring: the peer's backpressure. */
static int pcn_poll(struct napi_struct *napi, int budget)
{
	struct pcn_priv *p = container_of(napi, struct pcn_priv, napi);
	struct popcorn_kmsg_chan_msg m;
	int done = 0, ret;

	p->polls++;
	while (done < budget) {
		ret = popcorn_kmsg_chan_peek(p->peer, &m);
		if (!ret)
			break;
		done++;
		if (ret < 0) {
			DEV_STATS_INC(p->dev, rx_errors);	/* a malformed slot, skipped */
			continue;
		}
		pcn_receive(p, &m);
		popcorn_kmsg_chan_consume(p->peer);
	}
	if (done < budget && napi_complete_done(napi, done) &&
	    !popcorn_kmsg_chan_sleep(p->peer))
		napi_schedule(napi);
	return done;
}

/* Frames wait in the ring from peer: from its IPI, or the heartbeat. */
static void pcn_rx_ready(unsigned int peer)
{
	struct net_device *dev = peer < NR_KERNELS ? READ_ONCE(devs[peer]) : NULL;

	if (dev)
		napi_schedule(&((struct pcn_priv *)netdev_priv(dev))->napi);
}

static const struct popcorn_kmsg_chan_ops pcn_chan_ops = {
	.rx_ready	= pcn_rx_ready,
	.tx_room	= pcn_tx_room,
};

static int pcn_open(struct net_device *dev)
{
	struct pcn_priv *p = netdev_priv(dev);

	napi_enable(&p->napi);
	netif_start_queue(dev);
	local_bh_disable();	/* the first poll resets our side of the ring and sleeps */
	napi_schedule(&p->napi);
	local_bh_enable();
	return 0;
}

/* Frames from the peer stay in the ring until the device is up again. */
static int pcn_stop(struct net_device *dev)
{
	struct pcn_priv *p = netdev_priv(dev);

	netif_stop_queue(dev);
	napi_disable(&p->napi);
	return 0;
}

static const struct net_device_ops pcn_ops = {
	.ndo_open		= pcn_open,
	.ndo_stop		= pcn_stop,
	.ndo_start_xmit		= pcn_xmit,
	.ndo_validate_addr	= eth_validate_addr,
};

/* The carrier follows the peer's heartbeat, as the messaging layer sees it. */
static void pcn_link_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(pcn_link_work, pcn_link_fn);

static void pcn_link_fn(struct work_struct *work)
{
	unsigned int peer;

	for (peer = 0; peer < NR_KERNELS; peer++) {
		struct net_device *dev = devs[peer];
		bool up;

		if (!dev)
			continue;
		up = popcorn_kmsg_peer_up(peer);
		if (up && !netif_carrier_ok(dev)) {
			netif_carrier_on(dev);
			netdev_info(dev, "link up: kernel %u answers\n", peer);
		} else if (!up && netif_carrier_ok(dev)) {
			netif_carrier_off(dev);
			netdev_info(dev, "link down: kernel %u stopped answering\n", peer);
		} else {
			continue;
		}
		/* A queue the peer's ring stopped: dropped and counted while down, sent when up. */
		if (netif_running(dev))
			netif_wake_queue(dev);
	}
	schedule_delayed_work(&pcn_link_work, msecs_to_jiffies(LINK_CHECK_MS));
}

static int __init pcn_add(int self, unsigned int peer)
{
	u8 mac[ETH_ALEN] = { 0x02, 'P', 'C', 'N', self, peer };
	struct net_device *dev;
	struct pcn_priv *p;
	int ret;

	dev = alloc_etherdev(sizeof(*p));
	if (!dev)
		return -ENOMEM;
	snprintf(dev->name, IFNAMSIZ, "pcn%u", peer);
	dev->netdev_ops = &pcn_ops;
	dev->min_mtu = ETH_MIN_MTU;
	dev->max_mtu = PCN_MAX_MTU;
	/* Scatter-gather lets TCP build large segments (GSO cuts them before xmit). */
	dev->needed_headroom = sizeof(struct pcn_hdr);	/* no copy to push it */
	/*
	 * No checksum offload on send: with NETIF_F_HW_CSUM the UDP soak fell into a
	 * 5x slower mode in 7 of 9 runs (0 of 7 without), for a cause not found.
	 */
	dev->hw_features = NETIF_F_RXCSUM;
	dev->features = dev->hw_features;
	eth_hw_addr_set(dev, mac);
	p = netdev_priv(dev);
	p->dev = dev;
	p->peer = peer;
	netif_napi_add(dev, &p->napi, pcn_poll);
	netif_carrier_off(dev);
	ret = register_netdev(dev);
	if (ret) {
		netif_napi_del(&p->napi);
		free_netdev(dev);
		return ret;
	}
	WRITE_ONCE(devs[peer], dev);
	return 0;
}

/*
 * For tests of the receiver: writing "PEER COUNT" here sends PEER COUNT bad frames
 * through the channel, in turn: shorter than the header and an Ethernet
 * header; as long as a message can be (beyond any MTU but the largest); and a minimal
 * frame whose checksum offsets point beyond it. PEER must drop and count each
 * (rx_length_errors, rx_frame_errors on its pcn<this kernel>) and keep working.
 */
static int pcn_inject_bad_frames(const char *val, const struct kernel_param *kp)
{
	static u8 frame[POPCORN_KMSG_MAX_PAYLOAD];
	struct pcn_hdr *hdr = (struct pcn_hdr *)frame;
	unsigned int peer, count, i;
	static const u32 lengths[] = {
		sizeof(struct pcn_hdr) + ETH_HLEN - 1, POPCORN_KMSG_MAX_PAYLOAD,
		sizeof(struct pcn_hdr) + ETH_ZLEN,
	};
	int ret;

	if (sscanf(val, "%u %u", &peer, &count) != 2 || peer >= NR_KERNELS || !devs[peer] ||
	    count > 1000000)
		return -EINVAL;
	*hdr = (struct pcn_hdr){ .flags = PCN_CSUM_PARTIAL, .csum_start = cpu_to_le16(ETH_ZLEN),
				 .csum_offset = cpu_to_le16(16) };
	for (i = 0; i < count; i++) {
		unsigned long deadline = jiffies + msecs_to_jiffies(INJECT_WAIT_MS);

		while ((ret = popcorn_kmsg_chan_send(peer, frame, lengths[i % 3])) == -EAGAIN &&
		       time_before(jiffies, deadline))
			usleep_range(50, 100);
		if (ret)
			return ret;
	}
	return 0;
}

static const struct kernel_param_ops pcn_inject_ops = {
	.set = pcn_inject_bad_frames,
};
module_param_cb(inject_bad_frames, &pcn_inject_ops, NULL, 0200);
MODULE_PARM_DESC(inject_bad_frames, "For tests: \"PEER COUNT\" sends PEER frames of bad length");

/* Per link: what the device, the queue and the rings did since this kernel started. */
static int pcn_show(struct seq_file *m, void *v)
{
	unsigned int peer;

	seq_puts(m, "peer carrier tx_packets rx_packets stops wakes busy polls sent received malformed full waits data_ipis room_ipis wakeups\n");
	for (peer = 0; peer < NR_KERNELS; peer++) {
		struct net_device *dev = READ_ONCE(devs[peer]);
		struct popcorn_kmsg_chan_stats s;
		struct pcn_priv *p;

		if (!dev)
			continue;
		p = netdev_priv(dev);
		popcorn_kmsg_chan_stats(peer, &s);
		seq_printf(m, "%u %d %lu %lu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu\n",
			   peer, netif_carrier_ok(dev), DEV_STATS_READ(dev, tx_packets),
			   DEV_STATS_READ(dev, rx_packets), atomic64_read(&p->stops),
			   atomic64_read(&p->wakes), atomic64_read(&p->busy), READ_ONCE(p->polls),
			   s.sent, s.received, s.malformed, s.full, s.waits, s.data_ipis,
			   s.room_ipis, s.wakeups);
	}
	return 0;
}

/* After the messaging layer (a late_initcall_sync of arch/, linked before drivers/). */
static int __init popcorn_net_init(void)
{
	int self = popcorn_kmsg_self();
	unsigned int peer;
	int ret;

	if (self < 0)
		return 0;	/* no messaging, no links */
	for (peer = 0; peer < NR_KERNELS; peer++) {
		if (peer == self)
			continue;
		ret = pcn_add(self, peer);
		if (ret) {
			pr_err("pcn%u: %d\n", peer, ret);
			return ret;
		}
	}
	ret = popcorn_kmsg_chan_open(&pcn_chan_ops);
	if (ret) {
		pr_err("no channel to the other kernels: %d\n", ret);
		return ret;
	}
	if (!proc_create_single("popcorn_net", 0444, NULL, pcn_show))
		pr_warn("no /proc/popcorn_net\n");
	schedule_delayed_work(&pcn_link_work, 0);
	pr_info("kernel %d: pcn0..pcn%d to the other kernels, MTU up to %zu\n", self,
		NR_KERNELS - 1, PCN_MAX_MTU);
	return 0;
}
late_initcall_sync(popcorn_net_init);
