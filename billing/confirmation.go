package billing

import (
	"crypto/hmac"
	"crypto/rand"
	"fmt"
	"math/big"
	"time"

	"tollgate/internal/problem"
)

// A confirmation code is six digits from crypto/rand, stored only as a keyed
// hash bound to the object it confirms, so a leaked table reveals nothing
// and a code for one charge can never confirm another.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return fmt.Sprintf("%06d", n.Int64())
}

func (s *Service) codeHash(objectID, code string) string {
	return s.vault.Keyed("confirmation:"+objectID, code)
}

func (s *Service) codeMatches(objectID, code string, stored *string) bool {
	if stored == nil {
		return false
	}
	return hmac.Equal([]byte(s.codeHash(objectID, code)), []byte(*stored))
}

func validCodeFormat(code string) error {
	if code == "" {
		return problem.Invalid("code", "code is required: the digits the subscriber received by SMS.")
	}
	if len(code) < 4 || len(code) > 8 {
		return problem.Invalid("code", "code must be 4 to 8 digits.")
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return problem.Invalid("code", "code must be 4 to 8 digits.")
		}
	}
	return nil
}

func expired(expires *time.Time, now time.Time) bool {
	return expires == nil || !now.Before(*expires)
}

func wrongCode(remaining int) error {
	return problem.Unprocessable(problem.CodeInvalidConfirmationCode, "code",
		fmt.Sprintf("The code is wrong; %d attempt(s) remain.", remaining)).With("attempts_remaining", remaining)
}

func tooManyWrongCodes(what, id string) error {
	return problem.Unprocessable(problem.CodeConfirmationFailed, "code",
		fmt.Sprintf("Too many wrong codes; %s %s has failed. Start again with a new %s.", what, id, what)).With("attempts_remaining", 0)
}

func codeExpired(what, id string) error {
	return problem.Unprocessable(problem.CodeConfirmationExpired, "code",
		fmt.Sprintf("The code has expired; %s %s has failed. Start again with a new %s.", what, id, what))
}
