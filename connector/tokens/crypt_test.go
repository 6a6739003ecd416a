package tokens

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealer(t *testing.T) {
	k, _ := NewKey(testKeyBytes())
	other, _ := GenerateKey()
	s, err := newSealer(k)
	if err != nil {
		t.Fatal(err)
	}
	so, _ := newSealer(other)
	secret := []byte(`{"access_token":"00Dxx!AQsecret"}`)
	sealed, err := s.seal("user/alice", secret)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.seal("user/alice", secret)
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	if bytes.Contains(sealed, []byte("AQsecret")) {
		t.Fatal("plaintext visible in the sealed record")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name    string
		s       *sealer
		key     string
		data    []byte
		wantErr bool
	}{
		{"round trip", s, "user/alice", sealed, false},
		{"other entry's key (swapped record)", s, "user/bob", sealed, true},
		{"as the default token", s, "default", sealed, true},
		{"another secret key", so, "user/alice", sealed, true},
		{"tampered", s, "user/alice", tampered, true},
		{"truncated", s, "user/alice", sealed[:10], true},
		{"unknown version", s, "user/alice", append([]byte{9}, sealed[1:]...), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.open(tt.key, tt.data)
			if tt.wantErr {
				if !errors.Is(err, ErrUndecryptable) {
					t.Fatalf("open: err = %v, want ErrUndecryptable", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("open = %q, %v", got, err)
			}
		})
	}
}
