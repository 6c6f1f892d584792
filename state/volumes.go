package state

import "path/filepath"

// VolumesDir holds the named volumes of persistentVolumeClaims, by namespace and claim
// (volume.Claims), beside the images under --root.
func (c Config) VolumesDir() string { return filepath.Join(c.Root, "volumes") }
