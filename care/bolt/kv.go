package bolt

import (
	"bytes"
	"context"

	bbolt "go.etcd.io/bbolt"
)

// KV is a namespace of small durable values in the store's file, for
// adapters that keep their own state next to the Care data (the Salesforce
// token pool keeps its encrypted tokens here). Keys are strings; a Put has
// committed to disk when it returns.
type KV struct {
	s  *Store
	ns []byte
}

// KV returns the key-value namespace ns.
func (s *Store) KV(ns string) *KV { return &KV{s: s, ns: append([]byte(ns), 0)} }

func (k *KV) key(key string) []byte { return join(k.ns, []byte(key)) }

// Get returns the value of key, nil when absent.
func (k *KV) Get(ctx context.Context, key string) ([]byte, error) {
	var out []byte
	err := k.s.view(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketKV).Get(k.key(key)); v != nil {
			out = bytes.Clone(v)
		}
		return nil
	})
	return out, err
}

// Put stores value under key.
func (k *KV) Put(ctx context.Context, key string, value []byte) error {
	v := bytes.Clone(value)
	return k.s.update(ctx, func(tx *bbolt.Tx) error { return tx.Bucket(bucketKV).Put(k.key(key), v) })
}

// Delete removes key.
func (k *KV) Delete(ctx context.Context, key string) error {
	return k.s.update(ctx, func(tx *bbolt.Tx) error { return tx.Bucket(bucketKV).Delete(k.key(key)) })
}

// List returns every key under prefix with its value.
func (k *KV) List(ctx context.Context, prefix string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := k.s.view(func(tx *bbolt.Tx) error {
		p := k.key(prefix)
		c := tx.Bucket(bucketKV).Cursor()
		for key, v := c.Seek(p); key != nil && bytes.HasPrefix(key, p); key, v = c.Next() {
			out[string(key[len(k.ns):])] = bytes.Clone(v)
		}
		return nil
	})
	return out, err
}
