package bolt

import (
	"context"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
)

func TestKVNamespacesAndRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, b := s.KV("tokens"), s.KV("tokensx")
	if err := a.Put(ctx, "default", []byte("A")); err != nil {
		t.Fatal(err)
	}
	a.Put(ctx, "user/alice", []byte("B"))
	b.Put(ctx, "default", []byte("other namespace"))
	if v, _ := a.Get(ctx, "default"); string(v) != "A" {
		t.Fatalf("get: %q", v)
	}
	if v, _ := a.Get(ctx, "missing"); v != nil {
		t.Fatalf("missing key: %q", v)
	}
	s.Close()

	s, err = Open(dir, Options{Policy: care.Policy{Grace: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a = s.KV("tokens")
	all, err := a.List(ctx, "")
	if err != nil || len(all) != 2 || string(all["user/alice"]) != "B" {
		t.Fatalf("list after restart: %v %v", all, err)
	}
	users, _ := a.List(ctx, "user/")
	if len(users) != 1 {
		t.Fatalf("prefix list: %v", users)
	}
	a.Delete(ctx, "default")
	if v, _ := a.Get(ctx, "default"); v != nil {
		t.Fatal("deleted key still there")
	}
	if v, _ := s.KV("tokensx").Get(ctx, "default"); string(v) != "other namespace" {
		t.Fatalf("namespaces leak: %q", v)
	}
}
