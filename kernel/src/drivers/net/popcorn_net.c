// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: a virtual Ethernet link from this kernel to each other kernel
 * of the machine.
 *
 * Every kernel has one point-to-point Ethernet device per possible peer, pcn<peer>. A
 * frame sent on pcn2 travels to kernel 2 as one message of the messaging layer
 * (arch/x86/kernel/popcorn/kmsg.c), whose rings, IPIs and interrupt mitigation carry
 * it, and kernel 2 receives it on its pcn<sender> through NAPI. The carrier follows
 * the peer: on while its heartbeat moves, off when it stops (frames to it are then
 * dropped and counted), on again when it boots again.
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

#include <linux/etherdevice.h>
#include <linux/hrtimer.h>
#include <linux/init.h>
#include <linux/moduleparam.h>
#include <linux/netdevice.h>
#include <linux/popcorn_kmsg.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>

#define NR_KERNELS	POPCORN_KMSG_MAX_KERNELS
#define PCN_MAX_MTU	(POPCORN_KMSG_MAX_PAYLOAD - sizeof(struct pcn_hdr) - ETH_HLEN)
#define RX_QUEUE_MAX	1024		/* frames waiting for NAPI, per device */
#define RETRY_NS	(20 * NSEC_PER_USEC)
#define LINK_CHECK_MS	100

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
	struct sk_buff_head rxq;
	struct sk_buff *pending;	/* waits for room in the ring; the queue is stopped */
	struct hrtimer retry;
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

/* A frame goes out linear (one copy into the ring), its header pushed before it. */
static int pcn_send(struct pcn_priv *p, struct sk_buff *skb)
{
	return popcorn_kmsg_send_nowait(p->peer, POPCORN_KMSG_NET, skb->data, skb->len);
}

/* This device has no checksum offload: what it sends is complete, or was verified. */
static void pcn_push_hdr(struct sk_buff *skb)
{
	struct pcn_hdr *hdr = skb_push(skb, sizeof(*hdr));

	*hdr = (struct pcn_hdr){
		.flags = skb->ip_summed == CHECKSUM_UNNECESSARY ? PCN_CSUM_VALID : 0,
	};
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
		ret = pcn_send(p, skb);
	if (ret == -EAGAIN) {
		/* The peer's ring is full: hold this frame until there is room. */
		netif_stop_queue(dev);
		p->pending = skb;
		hrtimer_start(&p->retry, ns_to_ktime(RETRY_NS), HRTIMER_MODE_REL_SOFT);
		return NETDEV_TX_OK;
	}
	pcn_account_tx(dev, skb, ret);
	return NETDEV_TX_OK;
}

static enum hrtimer_restart pcn_retry(struct hrtimer *timer)
{
	struct pcn_priv *p = container_of(timer, struct pcn_priv, retry);
	struct sk_buff *skb = p->pending;
	int ret = netif_carrier_ok(p->dev) ? pcn_send(p, skb) : -EHOSTDOWN;

	if (ret == -EAGAIN) {
		hrtimer_forward_now(timer, ns_to_ktime(RETRY_NS));
		return HRTIMER_RESTART;
	}
	p->pending = NULL;
	pcn_account_tx(p->dev, skb, ret);
	netif_wake_queue(p->dev);
	return HRTIMER_NORESTART;
}

/*
 * The header's checksum state, onto the received frame. Offsets from a peer must lie
 * within the frame (skb_partial_csum_set() checks that): false if they do not.
 */
static bool pcn_set_csum(struct sk_buff *skb, const struct pcn_hdr *hdr)
{
	u8 flags = READ_ONCE(hdr->flags);

	if (flags & ~PCN_FLAGS)
		return false;
	if (flags & PCN_CSUM_PARTIAL) {
		if (!skb_partial_csum_set(skb, le16_to_cpu(READ_ONCE(hdr->csum_start)),
					  le16_to_cpu(READ_ONCE(hdr->csum_offset))))
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

/* A frame from a peer (the messaging layer's softirq context): to NAPI. */
static void pcn_receive(const struct popcorn_kmsg *msg)
{
	struct net_device *dev = msg->from < NR_KERNELS ? READ_ONCE(devs[msg->from]) : NULL;
	const struct pcn_hdr *hdr = (const struct pcn_hdr *)msg->data;
	u32 len = msg->len;	/* the messaging layer bounded it to its payload */
	struct pcn_priv *p;
	struct sk_buff *skb;

	if (!dev)
		return;
	p = netdev_priv(dev);
	if (len < sizeof(*hdr) + ETH_HLEN ||
	    len - sizeof(*hdr) > READ_ONCE(dev->mtu) + ETH_HLEN) {
		DEV_STATS_INC(dev, rx_length_errors);
		DEV_STATS_INC(dev, rx_errors);
		return;
	}
	len -= sizeof(*hdr);
	if (!netif_running(dev) || skb_queue_len(&p->rxq) >= RX_QUEUE_MAX) {
		DEV_STATS_INC(dev, rx_dropped);
		return;
	}
	skb = netdev_alloc_skb_ip_align(dev, len);
	if (!skb) {
		DEV_STATS_INC(dev, rx_dropped);
		return;
	}
	skb_put_data(skb, msg->data + sizeof(*hdr), len);
	if (!pcn_set_csum(skb, hdr)) {
		DEV_STATS_INC(dev, rx_frame_errors);
		DEV_STATS_INC(dev, rx_errors);
		kfree_skb(skb);
		return;
	}
	skb_queue_tail(&p->rxq, skb);
	local_bh_disable();	/* the polling thread calls handlers in process context */
	napi_schedule(&p->napi);
	local_bh_enable();
}

static int pcn_poll(struct napi_struct *napi, int budget)
{
	struct pcn_priv *p = container_of(napi, struct pcn_priv, napi);
	struct sk_buff *skb;
	int done = 0;

	while (done < budget && (skb = skb_dequeue(&p->rxq))) {
		DEV_STATS_INC(p->dev, rx_packets);
		DEV_STATS_ADD(p->dev, rx_bytes, skb->len);
		skb->protocol = eth_type_trans(skb, p->dev);
		napi_gro_receive(napi, skb);
		done++;
	}
	if (done < budget)
		napi_complete_done(napi, done);
	return done;
}

static int pcn_open(struct net_device *dev)
{
	struct pcn_priv *p = netdev_priv(dev);

	napi_enable(&p->napi);
	netif_start_queue(dev);
	return 0;
}

static int pcn_stop(struct net_device *dev)
{
	struct pcn_priv *p = netdev_priv(dev);

	netif_stop_queue(dev);
	hrtimer_cancel(&p->retry);
	if (p->pending) {
		pcn_account_tx(dev, p->pending, -ENETDOWN);
		p->pending = NULL;
	}
	napi_disable(&p->napi);
	skb_queue_purge(&p->rxq);
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
		}
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
	skb_queue_head_init(&p->rxq);
	hrtimer_init(&p->retry, CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
	p->retry.function = pcn_retry;
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
 * through the messaging layer, in turn: shorter than the header and an Ethernet
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
		ret = popcorn_kmsg_send(peer, POPCORN_KMSG_NET, frame, lengths[i % 3]);
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
	ret = popcorn_kmsg_register(POPCORN_KMSG_NET, pcn_receive);
	if (ret)
		return ret;
	schedule_delayed_work(&pcn_link_work, 0);
	pr_info("kernel %d: pcn0..pcn%d to the other kernels, MTU up to %zu\n", self,
		NR_KERNELS - 1, PCN_MAX_MTU);
	return 0;
}
late_initcall_sync(popcorn_net_init);
