package storetest

import (
	"testing"

	"milogin"
)

func testSettings(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("GetNotFound", func(t *testing.T) {
		s := open(t)
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.Settings().Get(ctx(t), "missing")
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
	})

	t.Run("PutIfAbsent", func(t *testing.T) {
		s := open(t)
		first := []byte{0x00, 0x01, 0xfe, 0xff, 's', 'e', 'a', 'l', 'e', 'd'}
		var got []byte
		write(t, s, func(tx milogin.Tx) (err error) {
			got, err = tx.Settings().PutIfAbsent(ctx(t), "signing-key", first)
			return err
		})
		wantEqual(t, "first put", got, first)
		// The first writer wins; later ones get its value back.
		write(t, s, func(tx milogin.Tx) (err error) {
			got, err = tx.Settings().PutIfAbsent(ctx(t), "signing-key", []byte("second"))
			return err
		})
		wantEqual(t, "second put", got, first)
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "Get", must(tx.Settings().Get(ctx(t), "signing-key")), first)
			return nil
		})
		// An empty value is a value.
		write(t, s, func(tx milogin.Tx) (err error) {
			got, err = tx.Settings().PutIfAbsent(ctx(t), "empty", nil)
			return err
		})
		if got == nil || len(got) != 0 {
			t.Errorf("empty value read back as %#v, want []byte{}", got)
		}
	})
}
