package deploy

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/config"
	"github.com/carebridge/carebridge/connector/testworld/expect"
	"github.com/carebridge/carebridge/mapping"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

const k8sDir = "kubernetes"

// serviceMonitor is the part of monitoring.coreos.com/v1 ServiceMonitor
// these manifests use; decoding is strict, so a field outside it (or a
// misspelt one) fails the test.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		JobLabel          string               `json:"jobLabel,omitempty"`
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector *struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector,omitempty"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path,omitempty"`
			Scheme        string `json:"scheme,omitempty"`
			Interval      string `json:"interval,omitempty"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// prometheusRule is monitoring.coreos.com/v1 PrometheusRule; its spec is a
// Prometheus rules file.
type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ruleFile `json:"spec"`
}

// ruleFile is a Prometheus rules file (and a PrometheusRule's spec).
type ruleFile struct {
	Groups []ruleGroup `json:"groups"`
}

type ruleGroup struct {
	Name     string `json:"name"`
	Interval string `json:"interval,omitempty"`
	Rules    []rule `json:"rules"`
}

type rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// kustomization is the part of kustomize.config.k8s.io/v1beta1 used here.
type kustomization struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Resources  []string         `json:"resources"`
	Images     []kustomizeImage `json:"images,omitempty"`
}

type kustomizeImage struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

// manifests is every object of deploy/kubernetes, decoded strictly.
type manifests struct {
	files           map[string]string // file → kind
	statefulSets    []*appsv1.StatefulSet
	services        []*corev1.Service
	configMaps      map[string]*corev1.ConfigMap
	secrets         map[string]*corev1.Secret
	serviceAccounts map[string]*corev1.ServiceAccount
	serviceMonitors []*serviceMonitor
	prometheusRules []*prometheusRule
}

// kinds maps apiVersion/kind to a constructor of the strict target type.
var kinds = map[string]func() any{
	"apps/v1/StatefulSet": func() any { return new(appsv1.StatefulSet) },
	"v1/Service":          func() any { return new(corev1.Service) },
	"v1/ConfigMap":        func() any { return new(corev1.ConfigMap) },
	"v1/Secret":           func() any { return new(corev1.Secret) },
	"v1/ServiceAccount":   func() any { return new(corev1.ServiceAccount) },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return new(serviceMonitor) },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return new(prometheusRule) },
}

// splitDocuments splits a multi-document YAML stream on "---" lines,
// dropping documents that hold only comments.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		for _, line := range strings.Split(cur.String(), "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				docs = append(docs, slices.Clone(cur.Bytes()))
				break
			}
		}
		cur.Reset()
	}
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if strings.TrimRight(line, "\r\n") == "---" {
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return docs
}

// decodeObject decodes one manifest strictly into its Kubernetes type:
// unknown or duplicate fields and wrongly typed values are errors.
func decodeObject(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, fmt.Errorf("read apiVersion/kind: %w", err)
	}
	newObj, ok := kinds[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return nil, fmt.Errorf("unexpected apiVersion %q kind %q", tm.APIVersion, tm.Kind)
	}
	obj := newObj()
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return obj, nil
}

// loadManifests reads every manifest file of deploy/kubernetes (not the
// kustomization) and decodes it strictly.
func loadManifests(t *testing.T) *manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := &manifests{
		files:           map[string]string{},
		configMaps:      map[string]*corev1.ConfigMap{},
		secrets:         map[string]*corev1.Secret{},
		serviceAccounts: map[string]*corev1.ServiceAccount{},
	}
	for _, f := range files {
		base := filepath.Base(f)
		if base == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs := splitDocuments(data)
		if len(docs) != 1 {
			t.Errorf("%s: %d documents, want one object per file", f, len(docs))
		}
		for _, doc := range docs {
			obj, err := decodeObject(doc)
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			var meta *metav1.ObjectMeta
			switch o := obj.(type) {
			case *appsv1.StatefulSet:
				m.statefulSets, meta = append(m.statefulSets, o), &o.ObjectMeta
			case *corev1.Service:
				m.services, meta = append(m.services, o), &o.ObjectMeta
			case *corev1.ConfigMap:
				m.configMaps[o.Name], meta = o, &o.ObjectMeta
			case *corev1.Secret:
				m.secrets[o.Name], meta = o, &o.ObjectMeta
			case *corev1.ServiceAccount:
				m.serviceAccounts[o.Name], meta = o, &o.ObjectMeta
			case *serviceMonitor:
				m.serviceMonitors, meta = append(m.serviceMonitors, o), &o.ObjectMeta
			case *prometheusRule:
				m.prometheusRules, meta = append(m.prometheusRules, o), &o.ObjectMeta
			}
			m.files[base] = fmt.Sprintf("%T", obj)
			checkMeta(t, base, meta)
		}
	}
	if len(m.files) == 0 {
		t.Fatal("no manifests found in deploy/kubernetes")
	}
	return m
}

// checkMeta: every object is namespace-agnostic, validly named and labelled.
func checkMeta(t *testing.T, file string, meta *metav1.ObjectMeta) {
	t.Helper()
	if meta.Namespace != "" {
		t.Errorf("%s: metadata.namespace %q: the manifests must name no namespace (kubectl apply -n picks it)", file, meta.Namespace)
	}
	for _, msg := range validation.IsDNS1123Label(meta.Name) {
		t.Errorf("%s: metadata.name %q: %s", file, meta.Name, msg)
	}
	if meta.Labels["app.kubernetes.io/name"] != "carebridge" {
		t.Errorf("%s: label app.kubernetes.io/name = %q, want carebridge", file, meta.Labels["app.kubernetes.io/name"])
	}
	for k, v := range meta.Labels {
		for _, msg := range validation.IsQualifiedName(k) {
			t.Errorf("%s: label key %q: %s", file, k, msg)
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			t.Errorf("%s: label %s value %q: %s", file, k, v, msg)
		}
	}
}

func TestDecodeObjectIsStrict(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		ok   bool
	}{
		{"valid service", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n", true},
		{"unknown field", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {portz: [{port: 80}]}\n", false},
		{"duplicate field", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {}\ndata: {}\n", false},
		{"wrong type", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: a}\nspec: {replicas: one}\n", false},
		{"bad quantity", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: a}\nspec: {template: {spec: {containers: [{name: a, resources: {limits: {memory: lots}}}]}}}\n", false},
		{"unknown kind", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n", false},
		{"unknown CRD field", "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: a}\nspec: {selector: {}, endpoints: [{port: http, intervall: 30s}]}\n", false},
		{"rule field typo", "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: a}\nspec: {groups: [{name: g, rules: [{alert: A, expr: up, fro: 5m}]}]}\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeObject([]byte(tt.doc))
			if (err == nil) != tt.ok {
				t.Errorf("decode: err = %v, want ok = %v", err, tt.ok)
			}
		})
	}
}

func TestSplitDocuments(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"one", "a: 1\n", 1},
		{"leading separator and comment", "# c\n---\na: 1\n", 1},
		{"two", "a: 1\n---\nb: 2\n", 2},
		{"comment-only second", "a: 1\n---\n# nothing\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := len(splitDocuments([]byte(tt.in))); got != tt.want {
				t.Errorf("got %d documents, want %d", got, tt.want)
			}
		})
	}
}

func TestKustomizationListsEveryFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(k8sDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml: apiVersion/kind %s/%s", k.APIVersion, k.Kind)
	}
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" {
			want = append(want, b)
		}
	}
	got := slices.Clone(k.Resources)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("kustomization resources = %v, want every manifest file %v", got, want)
	}
	if len(slices.Compact(got)) != len(k.Resources) {
		t.Errorf("kustomization lists a resource twice: %v", k.Resources)
	}
	m := loadManifests(t)
	sts := onlyStatefulSet(t, m)
	image := sts.Spec.Template.Spec.Containers[0].Image
	name, _, _ := strings.Cut(image, ":")
	if !slices.ContainsFunc(k.Images, func(i kustomizeImage) bool { return i.Name == name }) {
		t.Errorf("kustomization images has no entry for the container image %q", name)
	}
}

func onlyStatefulSet(t *testing.T, m *manifests) *appsv1.StatefulSet {
	t.Helper()
	if len(m.statefulSets) != 1 {
		t.Fatalf("%d StatefulSets, want 1", len(m.statefulSets))
	}
	sts := m.statefulSets[0]
	if n := len(sts.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("StatefulSet has %d containers, want 1", n)
	}
	return sts
}

func TestManifestKinds(t *testing.T) {
	m := loadManifests(t)
	counts := map[string]int{
		"StatefulSet":    len(m.statefulSets),
		"Service":        len(m.services),
		"ConfigMap":      len(m.configMaps),
		"Secret":         len(m.secrets),
		"ServiceAccount": len(m.serviceAccounts),
		"ServiceMonitor": len(m.serviceMonitors),
		"PrometheusRule": len(m.prometheusRules),
	}
	want := map[string]int{"StatefulSet": 1, "Service": 1, "ConfigMap": 2, "Secret": 1, "ServiceAccount": 1, "ServiceMonitor": 1, "PrometheusRule": 1}
	for kind, n := range want {
		if counts[kind] != n {
			t.Errorf("%d %s objects, want %d", counts[kind], kind, n)
		}
	}
}

// container finds the carebridge container's named port.
func containerPort(c *corev1.Container, name string) (int32, bool) {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

func envVar(c *corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

func TestStatefulSet(t *testing.T) {
	m := loadManifests(t)
	sts := onlyStatefulSet(t, m)
	pod := &sts.Spec.Template.Spec
	c := &pod.Containers[0]

	t.Run("one replica", func(t *testing.T) {
		if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 1 {
			t.Errorf("replicas = %s, want exactly 1 (bbolt has one writer)", deref(sts.Spec.Replicas))
		}
		if s := sts.Spec.UpdateStrategy.Type; s != "" && s != appsv1.RollingUpdateStatefulSetStrategyType {
			t.Errorf("updateStrategy %q: want RollingUpdate (stops the old pod before starting the new)", s)
		}
		if p := sts.Spec.PodManagementPolicy; p == appsv1.ParallelPodManagement {
			t.Errorf("podManagementPolicy Parallel: want OrderedReady")
		}
	})

	t.Run("selector matches the pod", func(t *testing.T) {
		sel, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
		if err != nil || sel.Empty() {
			t.Fatalf("selector %v: %v (empty: %v)", sts.Spec.Selector, err, sel == nil || sel.Empty())
		}
		if !sel.Matches(labels.Set(sts.Spec.Template.Labels)) {
			t.Errorf("selector %v does not match the pod labels %v", sel, sts.Spec.Template.Labels)
		}
		if !slices.ContainsFunc(m.services, func(s *corev1.Service) bool { return s.Name == sts.Spec.ServiceName }) {
			t.Errorf("serviceName %q names no Service of the manifests", sts.Spec.ServiceName)
		}
	})

	t.Run("data volume at data_dir", func(t *testing.T) {
		if len(sts.Spec.VolumeClaimTemplates) != 1 {
			t.Fatalf("%d volumeClaimTemplates, want 1", len(sts.Spec.VolumeClaimTemplates))
		}
		pvc := sts.Spec.VolumeClaimTemplates[0]
		if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteOnce) && !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteOncePod) {
			t.Errorf("claim %s access modes %v: want ReadWriteOnce(Pod)", pvc.Name, pvc.Spec.AccessModes)
		}
		if q := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("1Gi")) < 0 {
			t.Errorf("claim %s requests %s of storage, want at least 1Gi", pvc.Name, q.String())
		}
		dataDir, ok := envVar(c, "CAREBRIDGE_DATA_DIR")
		if !ok || dataDir.Value == "" {
			t.Fatal("CAREBRIDGE_DATA_DIR is not set: data_dir must be the volume")
		}
		mnt := mountOf(c, pvc.Name)
		if mnt == nil {
			t.Fatalf("the claim %s is not mounted", pvc.Name)
		}
		if mnt.MountPath != dataDir.Value || mnt.ReadOnly || mnt.SubPath != "" {
			t.Errorf("claim mounted at %q (readOnly %v, subPath %q), want read-write at data_dir %q", mnt.MountPath, mnt.ReadOnly, mnt.SubPath, dataDir.Value)
		}
		if p := sts.Spec.PersistentVolumeClaimRetentionPolicy; p != nil && p.WhenDeleted == appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
			t.Error("persistentVolumeClaimRetentionPolicy deletes the data with the StatefulSet")
		}
	})

	t.Run("every mount has a volume", func(t *testing.T) {
		for _, mnt := range c.VolumeMounts {
			isClaim := slices.ContainsFunc(sts.Spec.VolumeClaimTemplates, func(p corev1.PersistentVolumeClaim) bool { return p.Name == mnt.Name })
			if volumeOf(pod, mnt.Name) == nil && !isClaim {
				t.Errorf("mount %s at %s has no volume", mnt.Name, mnt.MountPath)
			}
		}
		for _, v := range pod.Volumes {
			if mountOf(c, v.Name) == nil {
				t.Errorf("volume %s is never mounted", v.Name)
			}
		}
	})

	t.Run("configmaps mounted as directories", func(t *testing.T) {
		var n int
		for _, v := range pod.Volumes {
			if v.ConfigMap == nil {
				continue
			}
			n++
			if _, ok := m.configMaps[v.ConfigMap.Name]; !ok {
				t.Errorf("volume %s: no ConfigMap %q in the manifests", v.Name, v.ConfigMap.Name)
			}
			if v.ConfigMap.Optional != nil && *v.ConfigMap.Optional {
				t.Errorf("volume %s: ConfigMap marked optional", v.Name)
			}
			mnt := mountOf(c, v.Name)
			if mnt == nil {
				continue
			}
			if mnt.SubPath != "" || mnt.SubPathExpr != "" {
				t.Errorf("ConfigMap %s mounted with subPath: its edits would never reach the pod", v.ConfigMap.Name)
			}
			if !mnt.ReadOnly {
				t.Errorf("ConfigMap %s mounted read-write", v.ConfigMap.Name)
			}
		}
		if n != len(m.configMaps) {
			t.Errorf("%d ConfigMap volumes for %d ConfigMaps", n, len(m.configMaps))
		}
	})

	t.Run("secrets come from the Secret", func(t *testing.T) {
		for _, name := range []string{"CAREBRIDGE_SALESFORCE_CLIENT_SECRET", "CAREBRIDGE_SECRET_KEY"} {
			e, ok := envVar(c, name)
			if !ok {
				t.Errorf("%s is not set", name)
				continue
			}
			if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Errorf("%s must come from a secretKeyRef, not a literal", name)
				continue
			}
			ref := e.ValueFrom.SecretKeyRef
			s, ok := m.secrets[ref.Name]
			if !ok {
				t.Errorf("%s: no Secret %q in the manifests", name, ref.Name)
				continue
			}
			if _, ok := s.StringData[ref.Key]; !ok {
				if _, ok := s.Data[ref.Key]; !ok {
					t.Errorf("%s: Secret %s has no key %q", name, ref.Name, ref.Key)
				}
			}
			if ref.Optional != nil && *ref.Optional {
				t.Errorf("%s: optional secret reference: a missing key must stop the pod, not run without it", name)
			}
		}
		for _, e := range c.Env {
			if strings.Contains(e.Name, "SECRET") && e.Value != "" {
				t.Errorf("%s holds a literal value", e.Name)
			}
		}
		if len(c.EnvFrom) != 0 {
			t.Error("envFrom imports unnamed variables: list each one")
		}
	})

	t.Run("no service links", func(t *testing.T) {
		// A Service named carebridge injects CAREBRIDGE_PORT and friends,
		// which share the daemon's environment prefix.
		if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
			t.Error("enableServiceLinks must be false")
		}
	})

	t.Run("probes", func(t *testing.T) {
		port, ok := containerPort(c, "http")
		if !ok {
			t.Fatal("no container port named http")
		}
		listen, ok := envVar(c, "CAREBRIDGE_LISTEN")
		if !ok {
			t.Fatal("CAREBRIDGE_LISTEN is not set: the default 127.0.0.1:8080 is unreachable from outside the pod")
		}
		host, lport, err := net.SplitHostPort(listen.Value)
		if err != nil || lport != fmt.Sprint(port) || (host != "" && host != "0.0.0.0" && host != "::") {
			t.Errorf("CAREBRIDGE_LISTEN %q: want every interface on the container port %d", listen.Value, port)
		}
		tests := []struct {
			name  string
			probe *corev1.Probe
			path  string
		}{
			{"liveness", c.LivenessProbe, "/healthz"},
			{"readiness", c.ReadinessProbe, "/readyz"},
			{"startup", c.StartupProbe, "/healthz"},
		}
		for _, tt := range tests {
			if tt.probe == nil || tt.probe.HTTPGet == nil {
				t.Errorf("%s probe: want an httpGet on %s", tt.name, tt.path)
				continue
			}
			g := tt.probe.HTTPGet
			if g.Path != tt.path {
				t.Errorf("%s probe path %q, want %q", tt.name, g.Path, tt.path)
			}
			if p := g.Port; !(p.StrVal == "http" || p.IntVal == port) {
				t.Errorf("%s probe port %s, want http (%d)", tt.name, p.String(), port)
			}
		}
	})

	t.Run("security context", func(t *testing.T) {
		psc := pod.SecurityContext
		if psc == nil {
			t.Fatal("no pod securityContext")
		}
		if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
			t.Error("pod must run as a non-root user id")
		}
		if psc.FSGroup == nil || *psc.FSGroup == 0 {
			t.Error("pod needs an fsGroup so the non-root user can write the volume")
		}
		if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Error("pod seccompProfile must be RuntimeDefault")
		}
		sc := c.SecurityContext
		if sc == nil {
			t.Fatal("no container securityContext")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Error("allowPrivilegeEscalation must be false")
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Error("readOnlyRootFilesystem must be true")
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Error("privileged container")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) != 0 {
			t.Errorf("capabilities %+v: want drop ALL and add none", sc.Capabilities)
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			t.Error("container runs as root")
		}
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			t.Error("automountServiceAccountToken must be false: the daemon never calls the Kubernetes API")
		}
		if _, ok := m.serviceAccounts[pod.ServiceAccountName]; !ok {
			t.Errorf("serviceAccountName %q names no ServiceAccount of the manifests", pod.ServiceAccountName)
		}
		if pod.HostNetwork || pod.HostPID || pod.HostIPC {
			t.Error("pod shares a host namespace")
		}
	})

	t.Run("resources", func(t *testing.T) {
		r := c.Resources
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, okReq := r.Requests[name]
			lim, okLim := r.Limits[name]
			if !okReq || !okLim {
				t.Errorf("%s: want both a request and a limit", name)
				continue
			}
			if req.Cmp(lim) > 0 {
				t.Errorf("%s request %s above its limit %s", name, req.String(), lim.String())
			}
		}
	})

	t.Run("graceful shutdown", func(t *testing.T) {
		if g := pod.TerminationGracePeriodSeconds; g == nil || *g != 60 {
			t.Errorf("terminationGracePeriodSeconds = %s, want 60 (drain deliveries)", deref(g))
		}
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Exec != nil {
			t.Error("a preStop exec hook needs a shell the image does not have")
		}
	})
}

// deref prints an optional value.
func deref[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

func mountOf(c *corev1.Container, volume string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].Name == volume {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func volumeOf(pod *corev1.PodSpec, name string) *corev1.Volume {
	for i := range pod.Volumes {
		if pod.Volumes[i].Name == name {
			return &pod.Volumes[i]
		}
	}
	return nil
}

// fileInMount resolves a path the daemon reads to the ConfigMap key behind
// it: the ConfigMap volume mounted at path's directory.
func fileInMount(t *testing.T, m *manifests, sts *appsv1.StatefulSet, p string) (cm *corev1.ConfigMap, key string) {
	t.Helper()
	pod := &sts.Spec.Template.Spec
	c := &pod.Containers[0]
	dir, key := path.Split(p)
	for _, mnt := range c.VolumeMounts {
		if path.Clean(mnt.MountPath) != path.Clean(dir) {
			continue
		}
		v := volumeOf(pod, mnt.Name)
		if v == nil || v.ConfigMap == nil {
			t.Fatalf("%s: mounted from volume %s, not a ConfigMap", p, mnt.Name)
		}
		cm, ok := m.configMaps[v.ConfigMap.Name]
		if !ok {
			t.Fatalf("%s: no ConfigMap %s", p, v.ConfigMap.Name)
		}
		if _, ok := cm.Data[key]; !ok {
			t.Fatalf("%s: ConfigMap %s has no key %q", p, cm.Name, key)
		}
		return cm, key
	}
	t.Fatalf("%s: no volume is mounted at %s", p, dir)
	return nil, ""
}

// TestShippedConfigLoads loads the config ConfigMap with the daemon's own
// loader, in the environment the StatefulSet gives it, and checks that what
// the daemon will use matches the pod: data_dir on the volume, the listen
// port on the container port, the mapping file in the mapping ConfigMap.
// The mapping itself must pass `carebridge mapping check` (offline).
func TestShippedConfigLoads(t *testing.T) {
	m := loadManifests(t)
	sts := onlyStatefulSet(t, m)
	c := &sts.Spec.Template.Spec.Containers[0]

	args := c.Args
	i := slices.Index(args, "--config")
	if len(args) == 0 || args[0] != "serve" || i < 0 || i+1 >= len(args) {
		t.Fatalf("args %q: want serve --config FILE", args)
	}
	cfgPath := args[i+1]
	cm, key := fileInMount(t, m, sts, cfgPath)

	// The daemon resolves relative paths against the config's directory;
	// write the file where the loader can read it, and give it the pod's
	// environment (Secret values included).
	dir := t.TempDir()
	local := expect.WriteFile(t, dir, key, cm.Data[key])
	var environ []string
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			environ = append(environ, e.Name+"="+e.Value)
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			environ = append(environ, e.Name+"="+m.secrets[ref.Name].StringData[ref.Key])
		}
	}
	cfg, err := config.Load(local, environ)
	if err != nil {
		t.Fatalf("the shipped config does not load: %v", err)
	}
	if want := mountOf(c, sts.Spec.VolumeClaimTemplates[0].Name).MountPath; cfg.DataDir != want {
		t.Errorf("effective data_dir %q, want the volume at %q", cfg.DataDir, want)
	}
	_, lport, err := net.SplitHostPort(cfg.Listen)
	if port, _ := containerPort(c, "http"); err != nil || lport != fmt.Sprint(port) {
		t.Errorf("effective listen %q does not match the container port %d", cfg.Listen, port)
	}
	if !path.IsAbs(cfg.MappingFile) {
		t.Fatalf("mapping_file %q: want an absolute path into the mapping ConfigMap", cfg.MappingFile)
	}
	mcm, mkey := fileInMount(t, m, sts, cfg.MappingFile)
	if mcm.Name == cm.Name {
		t.Errorf("the mapping and the config share ConfigMap %s: keep them apart so a mapping edit touches only the mapping", cm.Name)
	}
	rep, _, err := mapping.Check(context.Background(), cfg.MappingFile, []byte(mcm.Data[mkey]), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Errorf("the shipped mapping does not validate:\n%s", strings.Join(rep.Lines(), "\n"))
	}
	if secret, err := cfg.ClientSecret(); err != nil || secret == "" {
		t.Errorf("client secret from the Secret: %v (empty: %v)", err, secret == "")
	}
}

func TestServiceAndServiceMonitor(t *testing.T) {
	m := loadManifests(t)
	sts := onlyStatefulSet(t, m)
	c := &sts.Spec.Template.Spec.Containers[0]
	if len(m.services) != 1 || len(m.serviceMonitors) != 1 {
		t.Fatalf("%d Services and %d ServiceMonitors, want 1 each", len(m.services), len(m.serviceMonitors))
	}
	svc, sm := m.services[0], m.serviceMonitors[0]

	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(sts.Spec.Template.Labels)) {
		t.Errorf("Service selector %v does not select the pod (labels %v)", svc.Spec.Selector, sts.Spec.Template.Labels)
	}
	var http *corev1.ServicePort
	for i, p := range svc.Spec.Ports {
		if p.Name == "http" {
			http = &svc.Spec.Ports[i]
		}
		tp := p.TargetPort
		if tp.StrVal != "" {
			if _, ok := containerPort(c, tp.StrVal); !ok {
				t.Errorf("Service port %s targets %q, which the container does not name", p.Name, tp.StrVal)
			}
		}
	}
	if http == nil {
		t.Fatal("the Service has no port named http")
	}

	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil || sel.Empty() {
		t.Fatalf("ServiceMonitor selector: %v (empty selects every Service)", err)
	}
	if !sel.Matches(labels.Set(svc.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not match the Service labels %v", sel, svc.Labels)
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("%d ServiceMonitor endpoints, want 1", len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	if ep.Port != http.Name || (ep.Path != "" && ep.Path != "/metrics") {
		t.Errorf("ServiceMonitor scrapes port %q path %q, want http /metrics", ep.Port, ep.Path)
	}
	if sm.Spec.NamespaceSelector != nil && (sm.Spec.NamespaceSelector.Any || len(sm.Spec.NamespaceSelector.MatchNames) > 0) {
		t.Error("ServiceMonitor reaches beyond its own namespace")
	}
	// The alert CarebridgeDown selects up{job="carebridge"}: the job label
	// of a ServiceMonitor target is the Service's name unless jobLabel says
	// otherwise.
	if sm.Spec.JobLabel != "" {
		t.Errorf("jobLabel %q changes the job name the alerts expect", sm.Spec.JobLabel)
	}
	if svc.Name != "carebridge" {
		t.Errorf("Service %q: the alerts expect job=\"carebridge\"", svc.Name)
	}
}

func TestSecretPlaceholders(t *testing.T) {
	m := loadManifests(t)
	for _, s := range m.secrets {
		if len(s.Data) != 0 {
			t.Errorf("Secret %s: use stringData placeholders, not base64 data, in the shipped file", s.Name)
		}
		for k, v := range s.StringData {
			if !strings.HasPrefix(v, "REPLACE") {
				t.Errorf("Secret %s key %s: a shipped value must be an obvious placeholder (REPLACE...), got a real-looking one", s.Name, k)
			}
		}
	}
}
