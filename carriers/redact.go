package carriers

import "regexp"

// numberLike is a run that could be a phone number in any of the forms a
// carrier might echo one: +821012345678, 010-1234-5678, (02) 312 3456.
var numberLike = regexp.MustCompile(`\+?[0-9][0-9 ()./-]*[0-9]`)

// isoDate is a date carriers write in messages (2026-11-24), not a number.
var isoDate = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

// minNumberDigits: shorter runs (HTTP statuses, amounts, short codes) are
// kept; no subscriber number has fewer digits than this.
const minNumberDigits = 7

// RedactNumbers replaces every run of text that could be a phone number (7
// digits or more, with the separators people write) with "[number]". A
// carrier's error message is free text that may echo the subscriber's
// number, and errors end up in logs, which never carry one in clear (found
// by fuzzing the adapters' answers).
func RedactNumbers(s string) string {
	return numberLike.ReplaceAllStringFunc(s, func(run string) string {
		digits := 0
		for i := 0; i < len(run); i++ {
			if run[i] >= '0' && run[i] <= '9' {
				digits++
			}
		}
		if digits < minNumberDigits || isoDate.MatchString(run) {
			return run
		}
		return "[number]"
	})
}

// redacted is a carrier's answer with every number-like run of the
// carrier's own text (message, raw decline code, error) redacted. The
// breaker decorator applies it to every adapter's answers, so nothing the
// gateway stores, logs or shows carries a number a carrier echoed.
func redacted(res Result, err error) (Result, error) {
	res.Message = RedactNumbers(res.Message)
	res.DeclineCode = RedactNumbers(res.DeclineCode)
	return res, redactError(err)
}

// redactError is err with number-like runs of its text redacted; it still
// matches what err matches (errors.Is, errors.As).
func redactError(err error) error {
	if err == nil {
		return nil
	}
	msg := RedactNumbers(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{err: err, msg: msg}
}

type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
