package link

import "testing"

func TestContextStruct(t *testing.T) {
	for section, want := range map[string]string{
		"xdp":                     "xdp_md",
		"xdp.frags":               "xdp_md",
		"xdp/devmap":              "xdp_md",
		"socket":                  "__sk_buff",
		"socket1":                 "",
		"tc":                      "__sk_buff",
		"tc/ingress":              "__sk_buff",
		"tcx/egress":              "__sk_buff",
		"classifier":              "__sk_buff",
		"cgroup_skb/ingress":      "__sk_buff",
		"cgroup/skb":              "__sk_buff",
		"cgroup/dev":              "bpf_cgroup_dev_ctx",
		"cgroup/sysctl":           "bpf_sysctl",
		"cgroup/getsockopt":       "bpf_sockopt",
		"cgroup/sock_create":      "bpf_sock",
		"cgroup/sock":             "bpf_sock",
		"cgroup/post_bind4":       "bpf_sock",
		"cgroup/connect4":         "bpf_sock_addr",
		"cgroup/recvmsg6":         "bpf_sock_addr",
		"sockops":                 "bpf_sock_ops",
		"sk_msg":                  "sk_msg_md",
		"sk_skb/stream_verdict":   "__sk_buff",
		"sk_lookup":               "bpf_sk_lookup",
		"sk_reuseport/migrate":    "sk_reuseport_md",
		"raw_tp/sys_enter":        "bpf_raw_tracepoint_args",
		"raw_tracepoint/sched":    "bpf_raw_tracepoint_args",
		"lwt_in":                  "__sk_buff",
		"flow_dissector":          "__sk_buff",
		"kprobe/do_sys_open":      "pt_regs",
		"kprobe":                  "pt_regs",
		"kretprobe/do_sys_open":   "pt_regs",
		"kprobe.multi/do_*":       "pt_regs",
		"uprobe//bin/sh:main":     "pt_regs",
		"uretprobe.s/x":           "pt_regs",
		"ksyscall/nanosleep":      "pt_regs",
		"kretsyscall/nanosleep":   "pt_regs",
		"usdt/x":                  "pt_regs",
		"kprobex":                 "",
		"tracepoint/syscalls/foo": "",
		"fentry/x":                "",
		"perf_event":              "bpf_perf_event_data",
		"perf_events":             "",
		"tcp":                     "",
		"xdpx":                    "",
	} {
		if got := contextStruct(section); got != want {
			t.Errorf("contextStruct(%q) = %q, want %q", section, got, want)
		}
	}
}

func TestTracingContext(t *testing.T) {
	for section, want := range map[string]bool{
		"fentry/tcp_v4_connect": true,
		"fentry.s/x":            true,
		"fexit/x":               true,
		"fmod_ret/x":            true,
		"lsm/file_open":         true,
		"lsm.s/bprm_check":      true,
		"lsm_cgroup/socket":     true,
		"tp_btf/sched_switch":   true,
		"struct_ops/cc_init":    true,
		"struct_ops.s/x":        true,
		"struct_ops":            true,
		"struct_opsx":           false,
		"fentryx/x":             false,
		"tracepoint/a/b":        false,
		"raw_tp/x":              false,
		"xdp":                   false,
	} {
		if got := tracingContext(section); got != want {
			t.Errorf("tracingContext(%q) = %v, want %v", section, got, want)
		}
	}
}
