package msisdn

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// maxRawLen bounds the input handed to libphonenumber. Real numbers, even
// generously punctuated, are far shorter.
const maxRawLen = 64

// ParseError says why a number was refused, without repeating the number.
type ParseError struct{ Reason string }

// Error returns e.g. "msisdn: not a valid phone number". It never contains
// the input.
func (e *ParseError) Error() string { return "msisdn: " + e.Reason }

// Reasons used by Parse. They are fixed strings and never include input.
const (
	reasonEmpty          = "empty phone number"
	reasonTooLong        = "phone number too long"
	reasonTooShort       = "phone number too short"
	reasonCharacters     = "phone number contains characters other than digits, spaces, '-', '.', '(', ')' and a leading '+'"
	reasonNeedCountry    = "country required for a number not in international (+) form"
	reasonUnknownCountry = "unknown country"
	reasonBadCountryCode = "unknown country calling code"
	reasonNotNumber      = "not a phone number"
	reasonExtension      = "phone number extensions are not allowed"
	reasonInvalid        = "not a valid phone number"
	reasonNotMobile      = "not a mobile number"
)

func parseErr(reason string) error { return &ParseError{Reason: reason} }

// Parse normalises a phone number given in E.164 ("+821012345678") or in national
// form with an ISO 3166-1 alpha-2 country ("010-1234-5678", "KR") to E.164.
//
// It rejects numbers libphonenumber says are not valid and numbers that are
// not mobile-capable (type MOBILE or FIXED_LINE_OR_MOBILE; US/CA numbers are
// FIXED_LINE_OR_MOBILE). country may be "" when raw starts with '+'; when
// given, it is case-insensitive and must be a region libphonenumber knows,
// even if raw starts with '+'. raw may contain only ASCII digits, spaces,
// '-', '.', '(' and ')', plus one leading '+': letters (vanity numbers),
// extensions and surrounding text are refused rather than interpreted.
// Errors are *ParseError.
func Parse(raw, country string) (string, error) {
	raw = strings.TrimSpace(raw)
	country = strings.ToUpper(strings.TrimSpace(country))

	switch {
	case raw == "":
		return "", parseErr(reasonEmpty)
	case len(raw) > maxRawLen:
		return "", parseErr(reasonTooLong)
	}
	international := raw[0] == '+'
	digits := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		case c == '+' && i == 0:
		default:
			return "", parseErr(reasonCharacters)
		}
	}
	if digits == 0 {
		return "", parseErr(reasonNotNumber)
	}

	if country != "" && !phonenumbers.GetSupportedRegions()[country] {
		return "", parseErr(reasonUnknownCountry)
	}
	if country == "" && !international {
		return "", parseErr(reasonNeedCountry)
	}

	n, err := phonenumbers.Parse(raw, country)
	if err != nil {
		switch {
		case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
			return "", parseErr(reasonBadCountryCode)
		case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
			return "", parseErr(reasonTooShort)
		case errors.Is(err, phonenumbers.ErrNumTooLong):
			return "", parseErr(reasonTooLong)
		case errors.Is(err, phonenumbers.ErrNotANumber):
			return "", parseErr(reasonNotNumber)
		default:
			return "", parseErr(reasonInvalid)
		}
	}
	if n.GetExtension() != "" {
		return "", parseErr(reasonExtension)
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", parseErr(reasonInvalid)
	}
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
	default:
		return "", parseErr(reasonNotMobile)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// Region returns the ISO 3166-1 alpha-2 region of an E.164 number ("KR"),
// "" if unknown. Where several regions share a calling code, the region is
// chosen by libphonenumber from the number ranges (e.g. +44 7911 1… is "GG").
func Region(e164 string) string {
	n, ok := parseE164(e164)
	if !ok {
		return ""
	}
	r := phonenumbers.GetRegionCodeForNumber(n)
	if len(r) != 2 || r == "ZZ" { // "001" = non-geographic, "ZZ" = unknown
		return ""
	}
	return r
}

// isE164 reports whether s has the shape of an E.164 number: '+', a non-zero
// digit, and 7 to 15 digits in all.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseE164 parses a number already in E.164 form (as returned by Parse).
// It does not require the number to be valid, only parsable.
func parseE164(s string) (*phonenumbers.PhoneNumber, bool) {
	if !isE164(s) {
		return nil, false
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil || n.GetExtension() != "" {
		return nil, false
	}
	return n, true
}
