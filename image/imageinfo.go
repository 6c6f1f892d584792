package image

import "github.com/minipod/minipod/image/imageinfo"

// What a resolved image is lives in package imageinfo, which the pod monitor links without
// the registry client; these names keep the store's API whole.

type (
	Image       = imageinfo.Image
	Config      = imageinfo.Config
	Error       = imageinfo.Error
	Progress    = imageinfo.Progress
	PullOptions = imageinfo.PullOptions
	PullPolicy  = imageinfo.PullPolicy
	Keyring     = imageinfo.Keyring
)

const (
	PullAlways       = imageinfo.PullAlways
	PullIfNotPresent = imageinfo.PullIfNotPresent
	PullNever        = imageinfo.PullNever

	prefixRootfs        = imageinfo.PrefixRootfs
	prefixOCI           = imageinfo.PrefixOCI
	prefixOCIArchive    = imageinfo.PrefixOCIArchive
	prefixDockerArchive = imageinfo.PrefixDockerArchive
)

var (
	ErrInvalidReference = imageinfo.ErrInvalidReference
	ErrNotFound         = imageinfo.ErrNotFound
	ErrInvalidImage     = imageinfo.ErrInvalidImage
	ErrUnsupported      = imageinfo.ErrUnsupported
	ErrNeverPull        = imageinfo.ErrNeverPull

	kindOf           = imageinfo.KindOf
	kindError        = imageinfo.KindError
	checkRefChars    = imageinfo.CheckRefChars
	isLocalTransport = imageinfo.IsLocalTransport
	absPath          = imageinfo.AbsPath
	resolveRootfs    = imageinfo.RootfsDir
)
