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
 * Each message is a virtio-net header, then the Ethernet frame, as a virtio NIC and
 * its host exchange them: the header says whether the checksum is left to finish
 * (CHECKSUM_PARTIAL: where it starts and goes), or was verified by the sender's stack
 * (a frame the primary forwards from its NIC), and a TCP segment larger than the MTU
 * (TSO, up to what a message holds) with the size to cut it into. So a link sends
 * large segments without computing checksums, as veth does, and the frame is copied
 * once on each side: gathered from the skb into the ring, then from the ring into the
 * receiver's skb. popcorn_net.offload=0 turns this off (complete checksums, MTU-sized
 * linear frames), for comparison.
 *
 * A message comes from another kernel and is not trusted: its length is checked
 * against this device's MTU (a segment's against a message's), the header by
 * virtio_net_hdr_to_skb() as tun checks one from user space (the segment marked
 * SKB_GSO_DODGY, so the stack checks its headers again), before anything else; the
 * network stack then treats its bytes as it treats any NIC's.
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
#include <linux/virtio_net.h>
#include <linux/workqueue.h>

#define NR_KERNELS	POPCORN_KMSG_MAX_KERNELS
#define PCN_HDR		sizeof(struct virtio_net_hdr)	/* little-endian, before every frame */
#define PCN_MAX_FRAME	(POPCORN_KMSG_MAX_PAYLOAD - PCN_HDR)
#define PCN_MAX_MTU	(PCN_MAX_FRAME - ETH_HLEN)
#define PCN_HDR_FLAGS	(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)
#define PCN_OFFLOADS	(NETIF_F_SG | NETIF_F_HW_CSUM | NETIF_F_TSO | NETIF_F_TSO6 | \
			 NETIF_F_TSO_ECN)
#define LINK_CHECK_MS	100
#define INJECT_WAIT_MS	1000	/* for room in the ring, per bad frame */

static bool offload = true;
module_param(offload, bool, 0444);
MODULE_PARM_DESC(offload, "Checksum offload, scatter-gather and TSO on the links (default on)");

/* A frame on its way into the ring: its header, then its bytes. */
struct pcn_frame {
	struct virtio_net_hdr hdr;
	const struct sk_buff *skb;
};

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
		DEV_STATS_ADD(dev, tx_bytes, skb->len);
		dev_consume_skb_any(skb);
		return;
	}
	if (ret == -EHOSTDOWN)
		DEV_STATS_INC(dev, tx_carrier_errors);
	DEV_STATS_INC(dev, tx_dropped);
	dev_kfree_skb_any(skb);
}

/* Under the ring's lock: the header, then the frame gathered from the skb's pieces. */
static void pcn_copy_frame(void *dst, const void *src, u32 len)
{
	const struct pcn_frame *f = src;

	memcpy(dst, &f->hdr, PCN_HDR);
	if (skb_copy_bits(f->skb, 0, dst + PCN_HDR, len - PCN_HDR))
		WARN_ON_ONCE(1);	/* len is the skb's: it cannot be short */
}

static int pcn_send(struct pcn_priv *p, const struct pcn_frame *f)
{
	return popcorn_kmsg_chan_send(p->peer, PCN_HDR + f->skb->len, pcn_copy_frame, f);
}

/* The longest message a frame of this device's MTU makes. */
static u32 pcn_max_msg(const struct net_device *dev)
{
	if (dev->features & NETIF_F_TSO)
		return POPCORN_KMSG_MAX_PAYLOAD;	/* a segment as large as a message */
	return min_t(u32, PCN_HDR + VLAN_ETH_HLEN + READ_ONCE(dev->mtu), POPCORN_KMSG_MAX_PAYLOAD);
}

/*
 * Full only if the peer knows we wait (-EAGAIN): its IPI, or the heartbeat, wakes us.
 * A peer not reset for us yet, or gone, is no reason to stop: its frames are dropped.
 */
static bool pcn_room(struct pcn_priv *p)
{
	return popcorn_kmsg_chan_room(p->peer, pcn_max_msg(p->dev)) != -EAGAIN;
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
	struct pcn_frame f = { .skb = skb };
	int ret = -EHOSTDOWN;

	/* The header as virtio-net's: a GSO type it has no name for is refused (-EINVAL). */
	if (skb->len > PCN_MAX_FRAME || virtio_net_hdr_from_skb(skb, &f.hdr, true, true, 0)) {
		pcn_account_tx(dev, skb, -EMSGSIZE);
		return NETDEV_TX_OK;
	}
	if (netif_carrier_ok(dev))
		ret = pcn_send(p, &f);	/* the one copy */
	if (ret == -EAGAIN) {
		/* Longer than the room kept free: the qdisc sends it again after the wake. */
		atomic64_inc(&p->busy);
		pcn_stop_if_full(p);
		if (netif_queue_stopped(dev))
			return NETDEV_TX_BUSY;
		ret = pcn_send(p, &f);
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

static void pcn_rx_error(struct net_device *dev, bool length)
{
	if (length)
		DEV_STATS_INC(dev, rx_length_errors);
	else
		DEV_STATS_INC(dev, rx_frame_errors);
	DEV_STATS_INC(dev, rx_errors);
}

/*
 * A frame in the ring from the peer (the NAPI poll): its header read once into ours,
 * its length checked, its bytes copied once, into the skb, whose header
 * virtio_net_hdr_to_skb() then checks against them.
 */
static void pcn_receive(struct pcn_priv *p, const struct popcorn_kmsg_chan_msg *m)
{
	struct net_device *dev = p->dev;
	struct virtio_net_hdr hdr;
	struct sk_buff *skb;
	u32 len = m->len;	/* the ring bounded it to a message's payload */

	if (!netif_running(dev)) {
		DEV_STATS_INC(dev, rx_dropped);	/* down: the peer is never held up by us */
		return;
	}
	if (len < PCN_HDR + ETH_HLEN)
		return pcn_rx_error(dev, true);
	memcpy(&hdr, m->data, PCN_HDR);
	len -= PCN_HDR;
	/* A segment may be as long as a message; a frame no longer than the MTU. */
	if (hdr.gso_type == VIRTIO_NET_HDR_GSO_NONE && len > READ_ONCE(dev->mtu) + ETH_HLEN)
		return pcn_rx_error(dev, true);
	if (hdr.flags & ~PCN_HDR_FLAGS)
		return pcn_rx_error(dev, false);
	skb = napi_alloc_skb(&p->napi, len);
	if (!skb) {
		DEV_STATS_INC(dev, rx_dropped);
		return;
	}
	skb_put_data(skb, m->data + PCN_HDR, len);
	if (virtio_net_hdr_to_skb(skb, &hdr, true)) {
		kfree_skb(skb);
		return pcn_rx_error(dev, false);
	}
	if (hdr.flags & VIRTIO_NET_HDR_F_DATA_VALID)
		skb->ip_summed = CHECKSUM_UNNECESSARY;
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

static void pcn_kick(struct pcn_priv *p)
{
	local_bh_disable();	/* what napi_schedule() raises runs at bh enable */
	napi_schedule(&p->napi);
	local_bh_enable();
}

static int pcn_open(struct net_device *dev)
{
	netif_start_queue(dev);
	return 0;
}

/* NAPI stays on: while down, frames from the peer are taken and dropped (counted). */
static int pcn_stop(struct net_device *dev)
{
	netif_stop_queue(dev);
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
	dev->hw_features = NETIF_F_RXCSUM | (offload ? PCN_OFFLOADS : 0);
	dev->features = dev->hw_features;
	netif_set_tso_max_size(dev, PCN_MAX_FRAME);
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
	napi_enable(&p->napi);
	WRITE_ONCE(devs[peer], dev);
	pcn_kick(p);	/* the first poll resets our side of the ring, and sleeps */
	return 0;
}

/*
 * For tests of the receiver: writing "PEER COUNT" here sends PEER COUNT bad frames
 * through the channel, in turn: shorter than the header and an Ethernet
 * header; as long as a message can be (beyond any MTU but the largest); and a minimal
 * frame whose checksum offsets point beyond it. PEER must drop and count each
 * (rx_length_errors, rx_frame_errors on its pcn<this kernel>) and keep working.
 */
static void pcn_copy_bad(void *dst, const void *src, u32 len)
{
	memcpy(dst, src, len);
}

static int pcn_inject_bad_frames(const char *val, const struct kernel_param *kp)
{
	static u8 frame[POPCORN_KMSG_MAX_PAYLOAD];
	struct virtio_net_hdr *hdr = (struct virtio_net_hdr *)frame;
	unsigned int peer, count, i;
	static const u32 lengths[] = {
		PCN_HDR + ETH_HLEN - 1, POPCORN_KMSG_MAX_PAYLOAD, PCN_HDR + ETH_ZLEN,
	};
	int ret;

	if (sscanf(val, "%u %u", &peer, &count) != 2 || peer >= NR_KERNELS || !devs[peer] ||
	    count > 1000000)
		return -EINVAL;
	*hdr = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					.csum_start = cpu_to_le16(ETH_ZLEN),
					.csum_offset = cpu_to_le16(16) };
	for (i = 0; i < count; i++) {
		unsigned long deadline = jiffies + msecs_to_jiffies(INJECT_WAIT_MS);

		while ((ret = popcorn_kmsg_chan_send(peer, lengths[i % 3], pcn_copy_bad,
						     frame)) == -EAGAIN &&
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
	ret = popcorn_kmsg_chan_open(&pcn_chan_ops);	/* its callbacks find no device yet */
	if (ret) {
		pr_err("no channel to the other kernels: %d\n", ret);
		return ret;
	}
	for (peer = 0; peer < NR_KERNELS; peer++) {
		if (peer == self)
			continue;
		ret = pcn_add(self, peer);
		if (ret) {
			pr_err("pcn%u: %d\n", peer, ret);
			return ret;
		}
	}
	if (!proc_create_single("popcorn_net", 0444, NULL, pcn_show))
		pr_warn("no /proc/popcorn_net\n");
	schedule_delayed_work(&pcn_link_work, 0);
	pr_info("kernel %d: pcn0..pcn%d to the other kernels, MTU up to %zu\n", self,
		NR_KERNELS - 1, PCN_MAX_MTU);
	return 0;
}
late_initcall_sync(popcorn_net_init);
