package apiserver

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
)

// client-go's typed clients send request bodies as protobuf (application/vnd.kubernetes.protobuf,
// the k8s\x00 envelope around runtime.Unknown), as the API server accepts them; they accept
// JSON answers, which is what the daemon sends. Protobuf bodies are decoded into k8s.io/api's
// types and handed on as JSON.

const protobufType = "application/vnd.kubernetes.protobuf"

var protobufSerializer = sync.OnceValue(func() *protobuf.Serializer {
	s := runtime.NewScheme()
	corev1.AddToScheme(s)
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	return protobuf.NewSerializer(s, s)
})

// readObject reads a request body as JSON or YAML, converting a protobuf one to JSON.
func readObject(r *http.Request) ([]byte, error) {
	body, err := readBody(r)
	if err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), protobufType) {
		return body, err
	}
	obj, gvk, err := protobufSerializer().Decode(body, nil, nil)
	if err != nil {
		return nil, errBadRequest("decoding the protobuf body: " + err.Error())
	}
	if gvk != nil {
		obj.GetObjectKind().SetGroupVersionKind(*gvk)
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, errInternal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	return b, nil
}
