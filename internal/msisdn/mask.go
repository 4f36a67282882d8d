package msisdn

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

const (
	// clearTail is how many trailing digits Mask and Last4 leave readable.
	clearTail = 4
	// minMasked is the fewest national digits Mask hides. If keeping the
	// whole first group would hide fewer, less of the first group is kept;
	// if even the bare tail would, nothing is kept.
	minMasked = 2
	// unmaskable is what Mask returns for input it cannot parse.
	unmaskable = "***"
)

// Mask returns the display form used in responses and logs: country code and
// the first national group kept, the last four digits kept, every other digit
// replaced by '*', grouped as libphonenumber's INTERNATIONAL format:
//
//	"+821012345678" -> "+82 10-****-5678"
//	"+12015550123"  -> "+1 201-***-0123"
//	"+447911123456" -> "+44 7911 **3456"
//
// At least two national digits are always hidden: for short numbers less of
// the first group is kept, and a national number shorter than six digits is
// hidden entirely. Input that is not an E.164 number returns "***", never the
// input.
func Mask(e164 string) string {
	n, ok := parseE164(e164)
	if !ok {
		return unmaskable
	}
	nsn := phonenumbers.GetNationalSignificantNumber(n)
	if nsn == "" {
		return unmaskable
	}
	prefix := "+" + strconv.Itoa(int(n.GetCountryCode())) + " "

	// The grouped national part, e.g. "10-1234-5678". Fall back to the bare
	// national number if libphonenumber's output is not what we expect.
	grouped := phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
	rest, found := strings.CutPrefix(grouped, prefix)
	if !found || digitsOf(rest) != nsn {
		rest = nsn
	}

	total := len(nsn)
	lead := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if lead < 0 {
		lead = total
	}
	tail := clearTail
	if total-tail < minMasked {
		lead, tail = 0, 0
	} else if lead > total-tail-minMasked {
		lead = total - tail - minMasked
	}

	var b strings.Builder
	b.Grow(len(prefix) + len(rest))
	b.WriteString(prefix)
	i := 0 // index among national digits
	for _, r := range []byte(rest) {
		if r < '0' || r > '9' {
			b.WriteByte(r)
			continue
		}
		if i < lead || i >= total-tail {
			b.WriteByte(r)
		} else {
			b.WriteByte('*')
		}
		i++
	}
	return b.String()
}

// Last4 returns the last four digits of an E.164 number, or "" if e164 is not
// one.
func Last4(e164 string) string {
	if !isE164(e164) {
		return ""
	}
	return e164[len(e164)-clearTail:]
}

func digitsOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
