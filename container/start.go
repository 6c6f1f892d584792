package container

import (
	"fmt"
	"time"
)

// Start lets a created instance execute the user's program (runc start).
func (i *Instance) Start() error {
	i.starting.Lock()
	if st := i.State().Status; st != Created {
		i.starting.Unlock()
		return fmt.Errorf("start container %s: %w: %s", i.cfg.ID, ErrWrongState, st)
	}
	err := i.lc.Exec()
	i.starting.Unlock()
	if err != nil {
		return fmt.Errorf("start container %s: %w", i.cfg.ID, err)
	}
	return i.update(func(s *State) {
		if s.Status == Created { // not exited meanwhile
			s.Status, s.StartedAt = Running, time.Now()
		}
	})
}
