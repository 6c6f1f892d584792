package ocispec

import "fmt"

// Waiting reasons of a container the runtime could not create, as the kubelet reports them
// (pkg/kubelet/images and kuberuntime: ErrCreateContainerConfig, ErrCreateContainer).
const (
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonCreateContainerError       = "CreateContainerError"
)

// CreateError is a container that cannot be created as its pod asks. Nothing of it exists:
// the kubelet reports it waiting with Reason and the message, and tries again at its next
// sync; restarting the pod's other containers or counting a restart does not come into it.
type CreateError struct {
	Reason  string
	Message string
}

func (e *CreateError) Error() string { return e.Message }

func configError(format string, args ...any) error {
	return &CreateError{Reason: ReasonCreateContainerConfigError, Message: fmt.Sprintf(format, args...)}
}

func createError(format string, args ...any) error {
	return &CreateError{Reason: ReasonCreateContainerError, Message: fmt.Sprintf(format, args...)}
}
