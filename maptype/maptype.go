// Package maptype is the table of BPF map types: the kernel's enum
// bpf_map_type, each number with the name bpfstar gives it (the enum
// constant without BPF_MAP_TYPE_, lower case: BPF_MAP_TYPE_PERCPU_ARRAY is 6,
// "percpu_array"). It is the one table of map types: starlib reads the
// names bpf_map() takes from it, and vm names the maps it models with it.
//
// The table is fixed data. compile's TestMapTypesLoad has the kernel create
// a map of each type, named as bpf_map() takes it, through both loaders.
package maptype

import "sort"

// names[t] is the name of map type t ("" for 0, BPF_MAP_TYPE_UNSPEC).
var names = [...]string{
	1: "hash", 2: "array", 3: "prog_array", 4: "perf_event_array",
	5: "percpu_hash", 6: "percpu_array", 7: "stack_trace", 8: "cgroup_array",
	9: "lru_hash", 10: "lru_percpu_hash", 11: "lpm_trie", 12: "array_of_maps",
	13: "hash_of_maps", 14: "devmap", 15: "sockmap", 16: "cpumap", 17: "xskmap",
	18: "sockhash", 19: "cgroup_storage", 20: "reuseport_sockarray",
	21: "percpu_cgroup_storage", 22: "queue", 23: "stack", 24: "sk_storage",
	25: "devmap_hash", 26: "struct_ops", 27: "ringbuf", 28: "inode_storage",
	29: "task_storage", 30: "bloom_filter", 31: "user_ringbuf", 32: "cgrp_storage",
	33: "arena",
}

// Name returns the name of map type t ("hash" for 1), and false when the
// table has no type t.
func Name(t uint32) (string, bool) {
	if t == 0 || t >= uint32(len(names)) {
		return "", false
	}
	return names[t], true
}

// Lookup returns the number of the map type named name (1 for "hash"),
// and false when the table has no such name.
func Lookup(name string) (uint32, bool) {
	for t, n := range names {
		if t > 0 && n == name {
			return uint32(t), true
		}
	}
	return 0, false
}

// Names returns the names of every map type in the table, sorted.
func Names() []string {
	out := make([]string, 0, len(names)-1)
	for _, n := range names[1:] {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
