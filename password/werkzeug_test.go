package password

import (
	"errors"
	"strings"
	"testing"
)

// werkzeugVectors were made by Werkzeug 2.2 (Debian's python3-werkzeug),
// which Flask applications without passlib use:
//
//	from werkzeug.security import generate_password_hash
//	generate_password_hash(password, method="pbkdf2:sha256:600000")
var werkzeugVectors = []struct{ name, password, hash string }{
	{"pbkdf2-sha256-600000", "correct horse battery", "pbkdf2:sha256:600000$Y12SMHegULDMVaRY$39aa62044adaa1560d501866ef1f4f5dabc09ecf9f412559c30ac0ccbbdb4cc5"},
	{"pbkdf2-sha256-unicode", "pässwörd ✓", "pbkdf2:sha256:1000$xg6bPhuHgj88ZEDR$136e52decf93ac4e08671e79f6b6aef0f5fcfbe53b1b5cac144a88094cf3a0b7"},
	{"pbkdf2-sha512", "correct horse battery", "pbkdf2:sha512:1000$hxMaGUOV0dto6Ww0$6e4ab8d0400e0f553352927b29f79e55fcac02483d0008d0ff3370b48afe6d2c1c711eaf3270071ac010a96a684cb2bffc3db882277f6bd30b4007a1d233b3e5"},
	{"scrypt-32768", "correct horse battery", "scrypt:32768:8:1$RZ1UEL1feZr2bsya$5945c2ebe93e3d543a399ed348cd8171f3e406d93eb213ba75488cda664eca9bbff2e5caeef2bfeb0128243d0ea008f03f869b25277375ac48eea3ae360f788c"},
	{"scrypt-16384-unicode", "pässwörd ✓", "scrypt:16384:8:1$cLDTAMxwwyFrOtK9$923d17a89e7974eec499911eea88c30e9f4611ebacdf3d8010eab5a5bab93dd29b8ff4e0bf4a6997908665a71112ebbdb65c1b39c3b7e44dbb4f9cc64ae7e444"},
}

func TestVerifyWerkzeug(t *testing.T) {
	for _, v := range werkzeugVectors {
		t.Run(v.name, func(t *testing.T) {
			h := &Hasher{}
			if err := h.CheckHash(v.hash); err != nil {
				t.Errorf("CheckHash = %v, want nil", err)
			}
			if ok, rehash, err := h.Verify(v.hash, v.password); !ok || !rehash || err != nil {
				t.Errorf("Verify(right) = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			if ok, rehash, err := h.Verify(v.hash, v.password+"x"); ok || rehash || err != nil {
				t.Errorf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestCheckHash(t *testing.T) {
	good := []string{
		"$2b$04$OZ/Nc5QmzUi3ixb5bf6NXe/yy6xHq8Ylb4BxHMC/LuRQdkQYc88wW",
		werkzeugVectors[0].hash,
	}
	for _, v := range mustLoadVectors(t) {
		if v.mode != "hmac" {
			good = append(good, v.hash)
		}
	}
	for _, s := range good {
		if err := new(Hasher).CheckHash(s); err != nil {
			t.Errorf("CheckHash(%q) = %v, want nil", s, err)
		}
	}
	bad := []string{
		"notahash",
		"",
		"pbkdf2:sha256:600000$salt",                    // no key
		"pbkdf2:sha256$salt$00ff",                      // no iterations
		"pbkdf2:md5:1000$salt$00ff",                    // unknown digest
		"pbkdf2:sha256:0$salt$00ff",                    // no iterations
		"pbkdf2:sha256:1000$salt$zz",                   // not hex
		"pbkdf2:sha256:1000$$00ff00ff",                 // no salt
		"scrypt:32768:8$salt$00ff",                     // no p
		"scrypt:1000:8:1$salt$00ff00ff",                // N not a power of 2
		"sha1$salt$00ff00ff",                           // Werkzeug < 1.0's plain HMAC: not supported
		"$argon2id$v=19$m=9216,t=4,p=1$c2FsdHNhbHQ$",   // empty key
		"$2b$04$OZ/Nc5QmzUi3ixb5bf6NXe/yy6xHq8Ylb4BxH", // truncated
	}
	for _, s := range bad {
		err := new(Hasher).CheckHash(s)
		if !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("CheckHash(%q) = %v, want ErrUnknownFormat", s, err)
			continue
		}
		for _, f := range []string{"argon2id", "bcrypt", "sha512_crypt", "pbkdf2_sha256", "pbkdf2:sha256", "scrypt"} {
			if !strings.Contains(err.Error(), f) {
				t.Errorf("CheckHash(%q) = %q; want it to name %s", s, err, f)
			}
		}
	}
}
