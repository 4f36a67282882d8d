package msisdn

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+821012345678", "+82 10-****-5678"},
		{"+821012340002", "+82 10-****-0002"},
		{"+12015550123", "+1 201-***-0123"},
		{"+16135550123", "+1 613-***-0123"},
		{"+447911123456", "+44 7911 **3456"},
		{"+447400123456", "+44 7400 **3456"},
		{"+8223123456", "+82 2-***-3456"},
		// Short (invalid) number whose first group would leave too little
		// hidden: less of the first group is kept.
		{"+8210123400", "+82 10**-3400"},
		// Not E.164: never echoed.
		{"", "***"},
		{"010-1234-5678", "***"},
		{"+82 10 1234 5678", "***"},
		{"821012345678", "***"},
		{"+0821012345678", "***"},
		{"+8210123456781234", "***"},
		{"+99912345678", "***"},
		{"+82101234567a", "***"},
	}
	for _, tt := range tests {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLast4(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+821012345678", "5678"},
		{"+12015550123", "0123"},
		{"+82 10 1234 5678", ""},
		{"1234", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Last4(tt.in); got != tt.want {
			t.Errorf("Last4(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestMaskExampleNumbers masks libphonenumber's example mobile and
// fixed-line numbers for every region, checking the masking invariants
// whatever the grouping.
func TestMaskExampleNumbers(t *testing.T) {
	n := 0
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.MOBILE, phonenumbers.FIXED_LINE} {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			e164 := phonenumbers.Format(ex, phonenumbers.E164)
			t.Run(region+"/"+e164, func(t *testing.T) { checkMask(t, e164) })
			n++
		}
	}
	if n < 200 {
		t.Fatalf("only %d example numbers checked", n)
	}
}

// checkMask asserts Mask's invariants for a parsable E.164 number: the
// "+CC " prefix is kept; the national digits appear in order with the last
// four clear and at least two hidden; the only clear digits before the
// tail are a prefix of the first national group; so no run of more than four
// national digits is visible beyond the first group.
func checkMask(t *testing.T, e164 string) {
	t.Helper()
	n, err := phonenumbers.Parse(e164, "")
	if err != nil {
		t.Fatalf("test number %q does not parse: %v", e164, err)
	}
	got := Mask(e164)
	prefix := "+" + strconv.Itoa(int(n.GetCountryCode())) + " "
	rest, ok := strings.CutPrefix(got, prefix)
	if !ok {
		t.Fatalf("Mask(%q) = %q, want prefix %q", e164, got, prefix)
	}
	nsn := phonenumbers.GetNationalSignificantNumber(n)
	if len(nsn) < clearTail+minMasked {
		if strings.ContainsAny(rest, "0123456789") {
			t.Fatalf("Mask(%q) = %q shows digits of a very short number", e164, got)
		}
		return
	}

	// seq is the national part with separators removed: digits and '*'.
	var seq []byte
	firstGroup := -1
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c >= '0' && c <= '9' || c == '*':
			seq = append(seq, c)
		case firstGroup < 0:
			firstGroup = len(seq)
		}
	}
	if firstGroup < 0 {
		firstGroup = len(seq)
	}
	if len(seq) != len(nsn) {
		t.Fatalf("Mask(%q) = %q has %d national positions, want %d", e164, got, len(seq), len(nsn))
	}
	tail := len(seq) - clearTail
	if string(seq[tail:]) != nsn[tail:] {
		t.Fatalf("Mask(%q) = %q: last four not clear", e164, got)
	}
	if seq[tail-1] != '*' {
		t.Fatalf("Mask(%q) = %q: more than four trailing digits clear", e164, got)
	}
	hidden, lead := 0, 0
	for lead < len(seq) && seq[lead] != '*' {
		lead++
	}
	if lead > firstGroup {
		t.Fatalf("Mask(%q) = %q: clear digits beyond the first group", e164, got)
	}
	for i := range seq[:tail] {
		switch {
		case i < lead:
			if seq[i] != nsn[i] {
				t.Fatalf("Mask(%q) = %q: leading digits altered", e164, got)
			}
		case seq[i] != '*':
			t.Fatalf("Mask(%q) = %q: digit %d between first group and tail is clear", e164, got, i)
		default:
			hidden++
		}
	}
	if hidden < minMasked {
		t.Fatalf("Mask(%q) = %q hides only %d digits", e164, got, hidden)
	}
	// The spec's own phrasing: beyond the first group, no run of more than
	// four national digits.
	run := 0
	for _, c := range seq[firstGroup:] {
		if c == '*' {
			run = 0
		} else if run++; run > clearTail {
			t.Fatalf("Mask(%q) = %q shows %d consecutive digits", e164, got, run)
		}
	}
}

func ExampleMask() {
	fmt.Println(Mask("+821012345678"))
	fmt.Println(Mask("+12015550123"))
	fmt.Println(Mask("+447911123456"))
	fmt.Println(Mask("not a number"))
	// Output:
	// +82 10-****-5678
	// +1 201-***-0123
	// +44 7911 **3456
	// ***
}
