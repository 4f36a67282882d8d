package msisdn

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		raw, country, want string
	}{
		{"+821012345678", "", "+821012345678"},
		{"010-1234-5678", "KR", "+821012345678"},
		{"01012345678", "KR", "+821012345678"},
		{"+82 10 1234 5678", "", "+821012345678"},
		{"+82 (10) 1234.5678", "", "+821012345678"},
		{"010-1234-5678", "kr", "+821012345678"},
		{"  010 1234 5678\t", " KR ", "+821012345678"},
		{"+821012345678", "US", "+821012345678"}, // '+' form wins over country
		{"+1 201-555-0123", "", "+12015550123"},
		{"(201) 555-0123", "US", "+12015550123"},
		{"201.555.0123", "US", "+12015550123"},
		{"613-555-0123", "CA", "+16135550123"},
		{"07400 123456", "GB", "+447400123456"},
		{"+44 7911 123456", "", "+447911123456"},
	}
	for _, tt := range tests {
		t.Run(tt.raw+"/"+tt.country, func(t *testing.T) {
			got, err := Parse(tt.raw, tt.country)
			if err != nil {
				t.Fatalf("Parse(%q, %q) error: %v", tt.raw, tt.country, err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q, %q) = %q, want %q", tt.raw, tt.country, got, tt.want)
			}
		})
	}
}

// The simulator's subscribers are +821012340002..+821012340007.
func TestParseSimulatorNumbers(t *testing.T) {
	for i := 0; i <= 9; i++ {
		e164 := fmt.Sprintf("+8210123400%02d", i)
		got, err := Parse(e164, "")
		if err != nil || got != e164 {
			t.Errorf("Parse(%q) = %q, %v; want it back unchanged", e164, got, err)
		}
		national := fmt.Sprintf("010-1234-00%02d", i)
		if got, err := Parse(national, "KR"); err != nil || got != e164 {
			t.Errorf("Parse(%q, KR) = %q, %v; want %q", national, got, err, e164)
		}
		if r := Region(e164); r != "KR" {
			t.Errorf("Region(%q) = %q, want KR", e164, r)
		}
	}
}

// TestParseExampleMobileNumbers: libphonenumber's example mobile number for
// every region is accepted, in E.164 and in national form.
func TestParseExampleMobileNumbers(t *testing.T) {
	n := 0
	for region := range phonenumbers.GetSupportedRegions() {
		ex := phonenumbers.GetExampleNumberForType(region, phonenumbers.MOBILE)
		if ex == nil {
			continue
		}
		n++
		e164 := phonenumbers.Format(ex, phonenumbers.E164)
		if got, err := Parse(e164, ""); err != nil || got != e164 {
			t.Errorf("%s: Parse(%q) = %q, %v", region, e164, got, err)
		}
		if region == "AR" {
			// libphonenumber's national format for Argentine mobiles
			// ("09 15-2345-6789") does not parse back to the same number.
			continue
		}
		national := phonenumbers.Format(ex, phonenumbers.NATIONAL)
		if got, err := Parse(national, region); err != nil || got != e164 {
			t.Errorf("%s: Parse(%q, %q) = %q, %v; want %q", region, national, region, got, err, e164)
		}
	}
	if n < 200 {
		t.Fatalf("only %d regions have example mobile numbers", n)
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, raw, country, reason string
	}{
		{"empty", "", "KR", reasonEmpty},
		{"blank", "   ", "KR", reasonEmpty},
		{"letters", "abc", "KR", reasonCharacters},
		{"vanity", "010-CALL-5678", "KR", reasonCharacters},
		{"extension", "010-1234-5678 ext. 12", "KR", reasonCharacters},
		{"text around", "tel 01012345678", "KR", reasonCharacters},
		{"double plus", "++821012345678", "", reasonCharacters},
		{"inner plus", "82+1012345678", "KR", reasonCharacters},
		{"fullwidth digits", "０１０１２３４５６７８", "KR", reasonCharacters},
		{"punctuation only", "+ - ()", "", reasonNotNumber},
		{"too short", "123", "KR", reasonInvalid},
		{"too short +82", "+82 1", "", reasonTooShort},
		{"country code alone", "+82", "", reasonNotNumber},
		{"KR mobile one digit short", "+8210123400", "", reasonInvalid},
		{"KR mobile one digit long", "+8210123456789", "", reasonInvalid},
		{"KR landline national", "02-312-3456", "KR", reasonNotMobile},
		{"KR landline E.164", "+82 2-312-3456", "", reasonNotMobile},
		{"US toll free", "+1 800 555 0123", "", reasonNotMobile},
		{"unknown country ZZ", "010-1234-5678", "ZZ", reasonUnknownCountry},
		{"unknown country ZZ with plus", "+821012345678", "ZZ", reasonUnknownCountry},
		{"not a country", "010-1234-5678", "KOR", reasonUnknownCountry},
		{"national without country", "010-1234-5678", "", reasonNeedCountry},
		{"unassigned calling code", "+999 1234 5678", "", reasonBadCountryCode},
		{"too long for libphonenumber", "+82 " + strings.Repeat("1", 20), "", reasonTooLong},
		{"too long input", strings.Repeat("1", 65), "KR", reasonTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.raw, tt.country)
			if err == nil {
				t.Fatalf("Parse(%q, %q) = %q, want error", tt.raw, tt.country, got)
			}
			if got != "" {
				t.Errorf("Parse returned %q alongside an error", got)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			if pe.Reason != tt.reason {
				t.Errorf("reason = %q, want %q", pe.Reason, tt.reason)
			}
			assertNoDigits(t, err.Error())
		})
	}
}

func TestParseErrorText(t *testing.T) {
	err := &ParseError{Reason: reasonInvalid}
	if got, want := err.Error(), "msisdn: not a valid phone number"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	// No reason may ever carry digits, so no message can echo the input.
	for _, r := range []string{reasonEmpty, reasonTooLong, reasonTooShort, reasonCharacters,
		reasonNeedCountry, reasonUnknownCountry, reasonBadCountryCode, reasonNotNumber,
		reasonExtension, reasonInvalid, reasonNotMobile} {
		assertNoDigits(t, (&ParseError{Reason: r}).Error())
	}
}

func TestRegion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+821012345678", "KR"},
		{"+8223123456", "KR"},
		{"+12015550123", "US"},
		{"+16135550123", "CA"},
		{"+447400123456", "GB"},
		{"+447911123456", "GG"}, // +44 7911 1… is a Guernsey range in libphonenumber
		{"+80012345678", ""},    // non-geographic (+800), no ISO region
		{"+99912345678", ""},    // unassigned calling code
		{"+82 10 1234 5678", ""},
		{"010-1234-5678", ""},
		{"", ""},
		{"garbage", ""},
	}
	for _, tt := range tests {
		if got := Region(tt.in); got != tt.want {
			t.Errorf("Region(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParse checks invariants on arbitrary input; its seeds run as part of
// go test.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"+821012345678", "010-1234-5678", "02-312-3456", "+12015550123",
		"+447911123456", "+82", "", "abc", "+999 1", "0 1 0 1 2 3 4 5 6 7 8"} {
		f.Add(s, "KR")
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, raw, country string) {
		got, err := Parse(raw, country)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			assertNoDigits(t, err.Error())
			return
		}
		if !isE164(got) {
			t.Fatalf("Parse(%q, %q) = %q, not E.164", raw, country, got)
		}
		if again, err := Parse(got, ""); err != nil || again != got {
			t.Fatalf("Parse not idempotent: %q -> %q, %v", got, again, err)
		}
		checkMask(t, got)
	})
}

func assertNoDigits(t *testing.T, msg string) {
	t.Helper()
	if strings.ContainsAny(msg, "0123456789") {
		t.Errorf("message %q contains digits", msg)
	}
}
