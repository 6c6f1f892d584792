package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"

	"github.com/minipod/minipod/crilog"
)

// Create creates an instance: it mounts the root filesystem, creates the libcontainer
// container and starts its init process, which stops right before executing the user's
// program (runc create), with stdout and stderr going to the CRI log. Start lets it go.
// On error nothing of the instance is left.
func Create(cfg Config) (_ *Instance, err error) {
	i := &Instance{
		cfg:    cfg,
		exited: make(chan struct{}),
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
	logFile, err := os.OpenFile(cfg.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open container log: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("create stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		logFile.Close()
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("create stderr pipe: %w", err)
	}
	i.proc = i.process(spec.Process.Args, spec.Process.Env, spec.Process.Cwd)
	i.proc.Stdout, i.proc.Stderr, i.proc.Init = outW, errW, true
	startErr := i.lc.Start(i.proc)
	// The child has its copies; the read ends see EOF once every writer in the container
	// is gone, which is when the log is complete.
	outW.Close()
	errW.Close()
	copied := make(chan struct{}, 2)
	for _, s := range []struct {
		name string
		r    io.ReadCloser
	}{{crilog.Stdout, outR}, {crilog.Stderr, errR}} {
		go func() {
			defer s.r.Close()
			crilog.Copy(logFile, s.name, s.r, time.Now)
			copied <- struct{}{}
		}()
	}
	logsDone := func() {
		<-copied
		<-copied
		logFile.Close()
	}
	if startErr != nil {
		logsDone()
		return nil, fmt.Errorf("create container: %w", startErr)
	}
	pid, _ := i.proc.Pid()
	if err := i.update(func(s *State) { s.Status, s.Pid, s.CreatedAt = Created, pid, time.Now() }); err != nil {
		i.proc.Signal(os.Kill)
		i.proc.Wait()
		logsDone()
		return nil, err
	}
	go i.reap(logsDone)
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
