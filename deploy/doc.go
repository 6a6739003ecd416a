// Package deploy holds carebridge's deployment files (SPEC §9) and the tests
// that keep them honest; it has no code of its own.
//
//   - systemd/carebridge.service: the systemd unit.
//   - kubernetes/: the manifests, applied with `kubectl apply -k`.
//   - prometheus/alerts.yaml: the alert rules, the one place they are
//     written; kubernetes/prometheusrule.yaml is generated from it with
//     `go test ./deploy -update`.
//   - grafana/carebridge-dashboard.json: the dashboard.
//   - container/Dockerfile: the container image (static binary, distroless,
//     uid 65532, the data volume, `carebridge healthcheck`); built from the
//     repository root with ../.dockerignore.
//
// The tests decode every Kubernetes manifest strictly into the Kubernetes API
// types and check how the pieces fit together (volumes, ports, probes,
// Secrets, ConfigMaps), load the shipped config and mapping with the
// daemon's own loaders, check every metric name used by the alerts and the
// dashboard against SPEC §7, and read the systemd unit's keys.
// .ci/check-deploy adds the external tools: systemd-analyze verify and
// promtool.
package deploy
