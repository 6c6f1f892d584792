package ocispec

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/minipod/minipod/api"
)

// withUser sets the user and groups of the process as the kubelet and containerd decide them
// together, resolving names in the image's own /etc/passwd and /etc/group:
//
//   - The user is runAsUser (the container's, else the pod's), else the image's USER, else
//     root; runAsGroup, when set, replaces the group. This is the user string containerd
//     builds (internal/cri/util GenerateUserString) and resolves (pkg/oci WithUser): a uid
//     need not be in /etc/passwd (its group is then 0), a name must be.
//   - One difference, on purpose: the kubelet hands containerd only the uid or name of an
//     image USER "uid:gid" or "name:group", so a pod silently loses the image's group
//     (kubernetes/kubernetes#61967, containerd/containerd#11607). minipod keeps it when the
//     pod sets neither runAsUser nor runAsGroup, as Docker and Podman do.
//   - The supplementary groups are the primary group, the groups /etc/group lists the user in
//     (unless supplementalGroupsPolicy is Strict), fsGroup and supplementalGroups, sorted and
//     without duplicates (containerd's WithAdditionalGIDs, WithSupplementalGroups and
//     mergeGids; the kubelet adds fsGroup first, determineEffectiveSecurityContext).
func withUser(s *specs.Spec, in *Input) error {
	sc := api.EffectiveSecurityContext(&in.Pod.Spec, in.Container)
	userstr, groupsOf := userString(sc, in.Image.User)
	uid, gid, err := lookupUser(userstr, in.Passwd, in.Group)
	if err != nil {
		return fmt.Errorf("%s: user %q: %w", in.Field, userstr, err)
	}
	gids := []uint32{gid}
	psc := in.Pod.Spec.SecurityContext
	if psc == nil || psc.SupplementalGroupsPolicy == nil || *psc.SupplementalGroupsPolicy != api.SupplementalGroupsPolicyStrict {
		gids = append(gids, memberships(groupsOf, in.Passwd, in.Group)...)
	}
	if psc != nil {
		if psc.FSGroup != nil {
			gids = append(gids, uint32(*psc.FSGroup))
		}
		for _, g := range psc.SupplementalGroups {
			gids = append(gids, uint32(g))
		}
	}
	slices.Sort(gids)
	s.Process.User = specs.User{UID: uid, GID: gid, AdditionalGids: slices.Compact(gids)}
	return nil
}

// userString returns the user string containerd resolves, and the user (uid or name) whose
// /etc/group memberships it adds (internal/cri/server/container_create_linux.go
// containerSpecOpts).
func userString(sc api.SecurityContext, imageUser string) (userstr, groupsOf string) {
	if sc.RunAsUser != nil {
		userstr = strconv.FormatInt(*sc.RunAsUser, 10)
	} else if imageUser == "" {
		userstr = "0" // the kubelet's getImageUser: no USER is root
	} else if sc.RunAsGroup == nil {
		userstr = imageUser
	} else {
		userstr, _, _ = strings.Cut(imageUser, ":")
	}
	groupsOf, _, _ = strings.Cut(userstr, ":")
	if sc.RunAsGroup != nil {
		userstr = groupsOf + ":" + strconv.FormatInt(*sc.RunAsGroup, 10)
	}
	return userstr, groupsOf
}

// lookupUser resolves "user[:group]", each a number or a name, as containerd's oci.WithUser
// does.
func lookupUser(userstr string, passwd, group []byte) (uid, gid uint32, err error) {
	name, grp, hasGroup := strings.Cut(userstr, ":")
	if strings.Contains(grp, ":") {
		return 0, 0, fmt.Errorf("invalid USER value %s", userstr)
	}
	if n, ok := parseID(name); ok {
		uid = n
		if !hasGroup {
			// WithUserID: the group of the uid's entry, else 0.
			if u, err := findUser(passwd, func(u user.User) bool { return u.Uid == int(n) }); err == nil {
				gid = uint32(u.Gid)
			}
		}
	} else {
		u, err := findUser(passwd, func(u user.User) bool { return u.Name == name })
		if err != nil {
			return 0, 0, err
		}
		uid, gid = uint32(u.Uid), uint32(u.Gid)
	}
	if hasGroup {
		if n, ok := parseID(grp); ok {
			gid = n
		} else {
			g, err := findGroups(group, func(g user.Group) bool { return g.Name == grp })
			if err != nil {
				return 0, 0, err
			}
			if len(g) == 0 {
				return 0, 0, fmt.Errorf("unable to find group %s: no matching entries in group file", grp)
			}
			gid = uint32(g[0].Gid)
		}
	}
	return uid, gid, nil
}

// memberships returns the groups /etc/group lists a user in, given by uid or name, other than
// a group of the user's own name (pkg/oci WithAdditionalGIDs).
func memberships(userOrUID string, passwd, group []byte) []uint32 {
	name := userOrUID
	if n, ok := parseID(userOrUID); ok {
		u, err := findUser(passwd, func(u user.User) bool { return u.Uid == int(n) })
		if err != nil {
			return nil
		}
		name = u.Name
	}
	groups, _ := findGroups(group, func(g user.Group) bool {
		return g.Name != name && slices.Contains(g.List, name)
	})
	var gids []uint32
	for _, g := range groups {
		gids = append(gids, uint32(g.Gid))
	}
	return gids
}

func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

func findUser(passwd []byte, match func(user.User) bool) (user.User, error) {
	if passwd == nil {
		return user.User{}, fmt.Errorf("the image has no /etc/passwd")
	}
	users, err := user.ParsePasswdFilter(bytes.NewReader(passwd), match)
	if err != nil {
		return user.User{}, fmt.Errorf("read /etc/passwd: %w", err)
	}
	if len(users) == 0 {
		return user.User{}, fmt.Errorf("no such user in the image's /etc/passwd")
	}
	return users[0], nil
}

func findGroups(group []byte, match func(user.Group) bool) ([]user.Group, error) {
	if group == nil {
		return nil, fmt.Errorf("the image has no /etc/group")
	}
	groups, err := user.ParseGroupFilter(bytes.NewReader(group), match)
	if err != nil {
		return nil, fmt.Errorf("read /etc/group: %w", err)
	}
	return groups, nil
}

// VerifyRunAsNonRoot refuses, as a CreateContainerConfigError with the kubelet's message, a
// container with runAsNonRoot that would run as root or as an image user it cannot tell is
// not root (pkg/kubelet/kuberuntime/security_context_others.go verifyRunAsNonRoot). Like
// the kubelet, it looks only at the image's USER, not at its /etc/passwd.
func VerifyRunAsNonRoot(pod *api.Pod, c *api.Container, imageUser string) error {
	sc := api.EffectiveSecurityContext(&pod.Spec, c)
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		return nil
	}
	ref := fmt.Sprintf("%s_%s(%s)", pod.Metadata.Name, pod.Metadata.Namespace, pod.Metadata.UID) // format.Pod
	if sc.RunAsUser != nil {
		if *sc.RunAsUser == 0 {
			return configError("container's runAsUser breaks non-root policy (pod: %q, container: %s)", ref, c.Name)
		}
		return nil
	}
	// containerd's getUserFromImage and the kubelet's getImageUser: the part before ':', a
	// number or a name; no USER is uid 0.
	name, _, _ := strings.Cut(imageUser, ":")
	uid, err := strconv.ParseInt(name, 10, 64)
	switch {
	case name == "":
		return configError("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", ref, c.Name)
	case err != nil:
		return configError("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: %q, container: %s)", name, ref, c.Name)
	case uid == 0:
		return configError("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", ref, c.Name)
	}
	if errs := validation.IsValidUserID(uid); len(errs) > 0 {
		return configError("container has runAsNonRoot and image has an invalid user id (%d). (Must be 1-(%d)): %s (pod: %q, container: %s)",
			uid, math.MaxInt32, strings.Join(errs, "; "), ref, c.Name)
	}
	return nil
}
