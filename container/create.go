package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"
)

// Create creates an instance: it mounts the root filesystem, creates the libcontainer
// container and starts its init process, which stops right before executing the user's
// program (runc create), with stdout and stderr going to the CRI log. Start lets it go.
// On error nothing of the instance is left.
func Create(cfg Config) (_ *Instance, err error) {
	i := &Instance{
		cfg:    cfg,
		exited: make(chan struct{}),
		reaped: make(chan struct{}),
		state:  State{ID: cfg.ID, Name: cfg.Name, Attempt: cfg.Attempt, LogPath: cfg.LogPath},
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, Release(cfg.Paths, cfg.ID))
		}
	}()
	if err := os.MkdirAll(filepath.Dir(cfg.StateFile), 0o700); err != nil {
		return nil, fmt.Errorf("create container state dir: %w", err)
	}
	rootfs, err := mountRootfs(cfg.Dir, cfg.Layers)
	if err != nil {
		return nil, err
	}
	spec, err := cfg.Spec(rootfs)
	if err != nil {
		return nil, err
	}
	i.spec = spec.Process
	lcfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: cfg.ID, Spec: spec})
	if err != nil {
		return nil, fmt.Errorf("create container config: %w", err)
	}
	i.lc, err = libcontainer.Create(cfg.StateRoot, cfg.ID, lcfg)
	if err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}

	if err := os.MkdirAll(filepath.Dir(cfg.LogPath), 0o755); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	i.proc = i.process(spec.Process.Args, spec.Process.Env, spec.Process.Cwd)
	i.proc.Init = true
	var consoleSocket *os.File
	i.stdio, consoleSocket, err = newStdio(cfg, i.proc)
	if err != nil {
		return nil, err
	}
	startErr := i.lc.Start(i.proc)
	if startErr == nil {
		startErr = i.stdio.started(consoleSocket)
	} else {
		i.stdio.closeChildren()
		if consoleSocket != nil {
			consoleSocket.Close()
		}
	}
	if startErr != nil {
		if pid, err := i.proc.Pid(); err == nil && pid > 0 {
			i.proc.Signal(os.Kill)
			i.proc.Wait()
		}
		i.stdio.wait()
		return nil, fmt.Errorf("create container: %w", startErr)
	}
	pid, _ := i.proc.Pid()
	if err := i.update(func(s *State) { s.Status, s.Pid, s.CreatedAt = Created, pid, time.Now() }); err != nil {
		i.proc.Signal(os.Kill)
		i.proc.Wait()
		i.stdio.wait()
		return nil, err
	}
	go i.reap()
	return i, nil
}

// process is a libcontainer process running as the container's user.
func (i *Instance) process(args, env []string, cwd string) *libcontainer.Process {
	u := i.spec.User
	p := &libcontainer.Process{Args: args, Env: env, Cwd: cwd, UID: int(u.UID), GID: int(u.GID)}
	for _, g := range u.AdditionalGids {
		p.AdditionalGroups = append(p.AdditionalGroups, int(g))
	}
	return p
}
