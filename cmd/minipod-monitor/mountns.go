package main

// The monitor runs in a mount namespace of its own, made here before the Go runtime starts
// any thread: unshare(CLONE_NEWNS) applies to the calling thread only, so a running Go
// program cannot move itself. Everything the monitor mounts for its pod (root filesystems,
// /dev/shm, namespace pins, volumes) then stays out of the host's mount table, which every
// container start copies (unshare → copy_tree) and libcontainer reads on cgroup v1
// (/proc/self/mountinfo): with the pods' mounts in the host's table both grew with the number
// of pods (README, Density). Propagation is left as the host has it, so hostPath mounts
// still propagate (mountPropagation); pods.Create makes the directories the monitor mounts
// under private mount points of the host, so its mounts do not propagate back. When the
// monitor is gone its namespace goes with it, and with it every mount left in it.

/*
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((constructor)) static void minipod_monitor_mount_namespace(int argc, char **argv) {
	if (argc != 3 || strcmp(argv[1], "monitor") != 0) {
		return; // the container init, the pod reaper, or a usage error
	}
	if (unshare(CLONE_NEWNS) != 0) {
		perror("minipod-monitor: unshare the mount namespace");
		exit(1);
	}
}
*/
import "C"
