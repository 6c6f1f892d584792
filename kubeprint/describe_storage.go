package kubeprint

import "github.com/minipod/minipod/api"

// claimVolume is kubectl's printPersistentVolumeClaimVolumeSource.
func (d *describer) claimVolume(c *api.PersistentVolumeClaimVolumeSource) {
	d.w.write(2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n"+
		"    ClaimName:\t%v\n"+
		"    ReadOnly:\t%v\n", c.ClaimName, c.ReadOnly)
}

// imageVolume is kubectl's printImageVolumeSource.
func (d *describer) imageVolume(im *api.ImageVolumeSource) {
	d.w.write(2, "Type:\tImage (a container image or OCI artifact)\n"+
		"    Reference:\t%v\n"+
		"    PullPolicy:\t%v\n", im.Reference, im.PullPolicy)
}
