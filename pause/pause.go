// Package pause makes the minipod binary the reaper of a pod whose containers share one PID
// namespace (spec.shareProcessNamespace), when it is started as "minipod pause ...": PID 1
// of that namespace, it reaps the orphans the containers leave and otherwise sleeps, as the
// pause container does for a kubelet's pod (kubernetes build/pause/linux/pause.c).
//
// It runs from a C constructor, before the Go runtime starts: a pod keeps it for its whole
// life, and a Go process would cost it megabytes where this costs a few pages. Importing the
// package is what installs it; the constructor does nothing for any other command.
package pause

/*
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void sigdown(int signo) {
	_exit(0);
}

static void sigreap(int signo) {
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

// glibc passes argc and argv to constructors.
__attribute__((constructor)) static void minipod_pause(int argc, char **argv) {
	if (argc < 2 || strcmp(argv[1], "pause") != 0)
		return;
	struct sigaction down = {0}, reap = {0};
	down.sa_handler = sigdown;
	reap.sa_handler = sigreap;
	reap.sa_flags = SA_NOCLDSTOP;
	if (sigaction(SIGINT, &down, NULL) < 0 || sigaction(SIGTERM, &down, NULL) < 0 ||
	    sigaction(SIGCHLD, &reap, NULL) < 0)
		_exit(1);
	for (;;)
		pause();
}
*/
import "C"

// Arg is the command-line word that runs the reaper: `minipod pause ...`.
const Arg = "pause"
