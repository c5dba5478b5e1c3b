import { effectiveCapabilities } from '../../src/bpf/index.js';

/**
 * For suites that load BPF programs: skips them, visibly and with the reason, when this
 * process lacks the privileges (never a silent pass).
 */
export function needsBpf(): void {
  before(function () {
    const caps = effectiveCapabilities();
    if (!(caps.has('CAP_BPF') || caps.has('CAP_SYS_ADMIN')) || !caps.has('CAP_NET_ADMIN')) {
      this.test!.title += ' (skipped: needs root for BPF)';
      this.skip();
    }
  });
}

export const OBJ = {
  ipv6Filter: 'bpf/build/xdp_ipv6_filter.bpf.o',
  maps: 'specs/bpf/build/maps.bpf.o',
  rejected: 'specs/bpf/build/rejected.bpf.o',
  tcTtl: 'specs/bpf/build/tc_ttl.bpf.o',
  firewall: 'bpf/build/xdp_firewall.bpf.o',
  tcRedirect: 'bpf/build/tc_redirect.bpf.o',
  xdpRedirect: 'bpf/build/xdp_redirect.bpf.o',
  router: 'bpf/build/xdp_router.bpf.o',
  egressIsn: 'bpf/build/xdp_egress_isn.bpf.o',
  lb: 'bpf/build/xdp_lb.bpf.o',
};

/** The UDP ports verdicts.bpf.o answers each its own way, and what becomes of each (see the program). */
export const VERDICT_PORTS = [1, 2, 3, 4, 5, 7];
export const VERDICT_FATES = ['aborted', 'dropped', 'passed', 'tx', 'redirected', 'passed'];

export const SPEC_OBJ = {
  verdicts: 'specs/bpf/build/verdicts.bpf.o',
  tcVerdicts: 'specs/bpf/build/tc_verdicts.bpf.o',
  ingressSeen: 'specs/bpf/build/ingress_seen.bpf.o',
  ingressStamp: 'specs/bpf/build/ingress_stamp.bpf.o',
  grow: 'specs/bpf/build/grow.bpf.o',
  ipv6FilterV2: 'specs/bpf/build/ipv6_filter_v2.bpf.o',
  busy: 'specs/bpf/build/busy.bpf.o',
  tcVlanPush: 'specs/bpf/build/tc_vlan_push.bpf.o',
  events: 'specs/bpf/build/events.bpf.o',
};
