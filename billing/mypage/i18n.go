package mypage

import (
	"net/http"
	"strconv"
	"time"

	"golang.org/x/text/language"
)

// The page speaks Korean and English.
const (
	langEN = "en"
	langKO = "ko"
)

// langCookie keeps the language a subscriber picked with the switch.
const langCookie = "tg_my_lang"

var langMatcher = language.NewMatcher([]language.Tag{language.English, language.Korean})

// pickLang chooses the page's language: the switch (?lang=, then its
// cookie), else the browser's Accept-Language when it names Korean or
// English, else Korean for a Korean number, else English.
func pickLang(r *http.Request, country string) string {
	if l := r.URL.Query().Get("lang"); l == langEN || l == langKO {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == langEN || c.Value == langKO) {
		return c.Value
	}
	if h := r.Header.Get("Accept-Language"); h != "" {
		tags, _, err := language.ParseAcceptLanguage(h)
		if err == nil && len(tags) > 0 {
			tag, _, conf := langMatcher.Match(tags...)
			if conf != language.No {
				if base, _ := tag.Base(); base.String() == langKO {
					return langKO
				}
				return langEN
			}
		}
	}
	if country == "KR" {
		return langKO
	}
	return langEN
}

// zoneOf is where a subscriber's times are shown: Korea's for Korean
// numbers (the carriers' months are Seoul's too), else UTC.
func zoneOf(country string) *time.Location {
	if country == "KR" {
		if loc, err := time.LoadLocation("Asia/Seoul"); err == nil {
			return loc
		}
	}
	return time.UTC
}

// smsBody is the sign-in text, in Korean for Korean numbers.
func smsBody(country, code string, ttl time.Duration) string {
	mins := int(ttl.Minutes())
	if country == "KR" {
		return "[tollgate] 내 결제 내역 로그인 코드 " + code + " (" + itoa(mins) + "분 동안 유효). 누구에게도 알려 주지 마세요."
	}
	return code + " is your code to sign in to your tollgate payments page. It expires in " + itoa(mins) + " minutes. Never share it."
}

// messages are the page's words by language; every key exists in both.
var messages = map[string]map[string]string{
	langEN: {
		"title":                        "My phone payments",
		"lang_switch":                  "한국어",
		"intro":                        "See what was charged to your phone bill, set your own monthly limit, and stop merchants from charging you again.",
		"msisdn":                       "Phone number",
		"msisdn_hint":                  "International form (+82 10 1234 5678), or national with the country below.",
		"country":                      "Country",
		"send_code":                    "Text me a code",
		"code":                         "Code",
		"code_sent":                    "We texted a 6-digit code to %s. It expires in %d minutes.",
		"sign_in":                      "Sign in",
		"other_number":                 "Use another number",
		"sign_out":                     "Sign out",
		"signed_in_before":             "Signed in as",
		"signed_in_after":              "",
		"spend_title":                  "This month (%s)",
		"spent_of":                     "%s of %s",
		"no_cap":                       "%s spent; no monthly limit applies",
		"binding_carrier":              "Your carrier's monthly limit",
		"binding_subscriber":           "Your own monthly limit",
		"own_cap":                      "Your own limit",
		"own_cap_hint":                 "Lower than your carrier's limit. Charges over it are refused.",
		"save_cap":                     "Save limit",
		"restore_cap":                  "Use my carrier's limit",
		"categories_title":             "Blocked categories",
		"categories_hint":              "Charges in a blocked category are refused.",
		"category_other":               "Another category",
		"save_categories":              "Save categories",
		"no_categories":                "No categories yet: your charges name none.",
		"pms_title":                    "One-tap payments",
		"pms_hint":                     "These merchants may charge you without a code each time.",
		"no_pms":                       "No merchant may charge you without a code.",
		"revoke":                       "Revoke",
		"since":                        "since %s",
		"charges_title":                "Charges",
		"no_charges":                   "No charges yet.",
		"refunded":                     "%s refunded",
		"older":                        "Older charges",
		"newest":                       "Newest charges",
		"done_signed_in":               "You are signed in.",
		"done_signed_out":              "You are signed out.",
		"done_cap_saved":               "Your monthly limit is saved.",
		"done_cap_restored":            "Your carrier's monthly limit applies again.",
		"done_categories":              "Your blocked categories are saved.",
		"done_revoked":                 "The merchant can no longer charge you without a code.",
		"err_csrf":                     "This form is out of date or came from another site. Reload the page and try again.",
		"err_msisdn":                   "That is not a mobile number we know. Use the international form (+82 10 1234 5678), or pick the country.",
		"err_no_carrier":               "We cannot text codes to numbers from this country.",
		"err_rate_limited":             "Too many codes were sent to this number. Try again in %s.",
		"err_address_limited":          "Too many codes were asked for from this network. Try again in %s.",
		"err_tries_limited":            "Too many codes were typed in for this number. Try again in %s.",
		"err_carrier_down":             "Your carrier is not answering right now, so no code was sent. Try again in %s.",
		"err_code_format":              "Type the 6 digits of the code we texted you.",
		"err_code_wrong":               "That code is wrong; %d attempt(s) left.",
		"err_code_spent":               "Too many wrong codes. Ask for a new code.",
		"err_code_expired":             "The code has expired. Ask for a new code.",
		"err_no_sign_in":               "No code is waiting in this browser. Ask for one.",
		"err_session":                  "Your session has ended. Sign in again.",
		"err_amount":                   "Type the limit as an amount, e.g. %s.",
		"err_currency":                 "That currency is not one of yours.",
		"err_cap_too_large":            "Your own limit can be at most your carrier's, %s. To use your carrier's limit, restore it.",
		"err_categories":               "A category is at most 255 characters, and at most 50 can be blocked.",
		"err_not_found":                "That one-tap payment is not yours, or no longer exists.",
		"err_server":                   "Something went wrong on our side. Try again later.",
		"status_requires_confirmation": "Waiting for code",
		"status_processing":            "Processing",
		"status_succeeded":             "Paid",
		"status_failed":                "Failed",
		"status_canceled":              "Canceled",
		"status_partially_refunded":    "Partly refunded",
		"status_refunded":              "Refunded",
		// Subscriptions and refund requests (requests.go).
		"subs_title":  "Subscriptions",
		"subs_hint":   "These merchants charge you again every period until you cancel.",
		"no_subs":     "No subscriptions.",
		"every_month": "%s every month",
		"every_week":  "%s every week",
		"next_charge": "next charge %s",
		// Cashback (cashback.go).
		"cashback_title":             "Cashback",
		"cashback_hint":              "Taken off your next payments to these merchants. Never paid out as money.",
		"cashback_until":             "some of it expires %s",
		"sub_active":                 "Active",
		"sub_past_due":               "Payment failed",
		"sub_requires_confirmation":  "Waiting for your code",
		"cancel_sub":                 "Cancel",
		"ask_refund":                 "Ask for a refund",
		"reason":                     "Why do you want a refund?",
		"reason_hint":                "The merchant reads this (at most 255 characters).",
		"send_request":               "Send to the merchant",
		"rr_status_pending":          "Refund requested",
		"rr_status_approved":         "Refund approved",
		"rr_status_declined":         "Refund declined",
		"rr_answer":                  "The merchant's answer: %s",
		"requests_title":             "Refund requests",
		"no_requests":                "You have not asked for a refund.",
		"done_subscription_canceled": "The subscription is canceled: nothing more will be charged for it.",
		"done_refund_requested":      "Your refund request was sent to the merchant.",
		"done_refund_approved":       "Refunded: the merchant approves requests like this at once.",
		"err_sub_not_found":          "That subscription is not yours, or no longer exists.",
		"err_charge_not_found":       "That charge is not yours.",
		"err_refund_open":            "You already asked for a refund of this charge; wait for the merchant's answer.",
		"err_refund_not_refundable":  "This charge cannot be refunded: nothing of it is left to refund.",
		"err_reason":                 "Say why in a few words (at most 255 characters).",
		"footer":                     "Your number is never shown in full. Nothing on this page is loaded from another site.",
	},
	langKO: {
		"title":                        "내 휴대폰 결제",
		"lang_switch":                  "English",
		"intro":                        "휴대폰 요금으로 결제된 내역을 보고, 월 한도를 직접 정하고, 자동 결제를 해지할 수 있습니다.",
		"msisdn":                       "휴대폰 번호",
		"msisdn_hint":                  "국제 형식(+82 10 1234 5678) 또는 아래에서 국가를 고른 뒤 국내 형식으로 입력하세요.",
		"country":                      "국가",
		"send_code":                    "인증 코드 받기",
		"code":                         "인증 코드",
		"code_sent":                    "%s(으)로 6자리 코드를 보냈습니다. %d분 동안 유효합니다.",
		"sign_in":                      "로그인",
		"other_number":                 "다른 번호 사용",
		"sign_out":                     "로그아웃",
		"signed_in_before":             "",
		"signed_in_after":              "로그인됨",
		"spend_title":                  "이번 달 (%s)",
		"spent_of":                     "%s / %s",
		"no_cap":                       "%s 사용, 적용되는 월 한도 없음",
		"binding_carrier":              "통신사 월 한도",
		"binding_subscriber":           "내가 정한 월 한도",
		"own_cap":                      "내 월 한도",
		"own_cap_hint":                 "통신사 한도보다 낮게 정할 수 있습니다. 한도를 넘는 결제는 거절됩니다.",
		"save_cap":                     "한도 저장",
		"restore_cap":                  "통신사 한도로 되돌리기",
		"categories_title":             "차단한 카테고리",
		"categories_hint":              "차단한 카테고리의 결제는 거절됩니다.",
		"category_other":               "다른 카테고리",
		"save_categories":              "카테고리 저장",
		"no_categories":                "아직 카테고리가 없습니다.",
		"pms_title":                    "간편 결제",
		"pms_hint":                     "아래 가맹점은 매번 코드 없이 결제할 수 있습니다.",
		"no_pms":                       "코드 없이 결제할 수 있는 가맹점이 없습니다.",
		"revoke":                       "해지",
		"since":                        "%s부터",
		"charges_title":                "결제 내역",
		"no_charges":                   "결제 내역이 없습니다.",
		"refunded":                     "%s 환불됨",
		"older":                        "이전 내역",
		"newest":                       "최근 내역",
		"done_signed_in":               "로그인되었습니다.",
		"done_signed_out":              "로그아웃되었습니다.",
		"done_cap_saved":               "월 한도를 저장했습니다.",
		"done_cap_restored":            "통신사 월 한도가 다시 적용됩니다.",
		"done_categories":              "차단한 카테고리를 저장했습니다.",
		"done_revoked":                 "이제 이 가맹점은 코드 없이 결제할 수 없습니다.",
		"err_csrf":                     "오래되었거나 다른 사이트에서 온 요청입니다. 페이지를 새로 고친 뒤 다시 시도하세요.",
		"err_msisdn":                   "휴대폰 번호가 올바르지 않습니다. 국제 형식(+82 10 1234 5678)으로 입력하거나 국가를 고르세요.",
		"err_no_carrier":               "이 국가의 번호로는 코드를 보낼 수 없습니다.",
		"err_rate_limited":             "이 번호로 코드를 너무 많이 보냈습니다. %s 뒤에 다시 시도하세요.",
		"err_address_limited":          "이 네트워크에서 코드를 너무 많이 요청했습니다. %s 뒤에 다시 시도하세요.",
		"err_tries_limited":            "이 번호로 코드를 너무 많이 입력했습니다. %s 뒤에 다시 시도하세요.",
		"err_carrier_down":             "통신사가 응답하지 않아 코드를 보내지 못했습니다. %s 뒤에 다시 시도하세요.",
		"err_code_format":              "문자로 받은 6자리 코드를 입력하세요.",
		"err_code_wrong":               "코드가 틀렸습니다. %d번 더 시도할 수 있습니다.",
		"err_code_spent":               "틀린 코드를 너무 많이 입력했습니다. 새 코드를 받으세요.",
		"err_code_expired":             "코드가 만료되었습니다. 새 코드를 받으세요.",
		"err_no_sign_in":               "이 브라우저에서 기다리는 코드가 없습니다. 코드를 받으세요.",
		"err_session":                  "로그인 시간이 끝났습니다. 다시 로그인하세요.",
		"err_amount":                   "한도를 금액으로 입력하세요. 예: %s",
		"err_currency":                 "내 통화가 아닙니다.",
		"err_cap_too_large":            "내 한도는 통신사 한도(%s)보다 높을 수 없습니다. 통신사 한도를 쓰려면 되돌리세요.",
		"err_categories":               "카테고리는 255자 이하, 최대 50개까지 차단할 수 있습니다.",
		"err_not_found":                "내 간편 결제가 아니거나 이미 없습니다.",
		"err_server":                   "일시적인 오류입니다. 잠시 뒤 다시 시도하세요.",
		"status_requires_confirmation": "코드 대기",
		"status_processing":            "처리 중",
		"status_succeeded":             "결제 완료",
		"status_failed":                "실패",
		"status_canceled":              "취소",
		"status_partially_refunded":    "부분 환불",
		"status_refunded":              "환불",
		// Subscriptions and refund requests (requests.go).
		"subs_title":  "정기 결제",
		"subs_hint":   "해지할 때까지 아래 가맹점이 주기마다 결제합니다.",
		"no_subs":     "정기 결제가 없습니다.",
		"every_month": "매월 %s",
		"every_week":  "매주 %s",
		"next_charge": "다음 결제 %s",
		// Cashback (cashback.go).
		"cashback_title":             "캐시백",
		"cashback_hint":              "아래 가맹점에서 다음 결제 때 자동으로 차감됩니다. 현금으로 지급되지 않습니다.",
		"cashback_until":             "일부 %s 소멸",
		"sub_active":                 "이용 중",
		"sub_past_due":               "결제 실패",
		"sub_requires_confirmation":  "코드 대기",
		"cancel_sub":                 "해지",
		"ask_refund":                 "환불 요청",
		"reason":                     "환불을 원하는 이유",
		"reason_hint":                "가맹점이 읽습니다 (255자 이하).",
		"send_request":               "가맹점에 보내기",
		"rr_status_pending":          "환불 요청됨",
		"rr_status_approved":         "환불 승인",
		"rr_status_declined":         "환불 거절",
		"rr_answer":                  "가맹점 답변: %s",
		"requests_title":             "환불 요청",
		"no_requests":                "환불을 요청한 적이 없습니다.",
		"done_subscription_canceled": "정기 결제를 해지했습니다. 더 이상 결제되지 않습니다.",
		"done_refund_requested":      "가맹점에 환불 요청을 보냈습니다.",
		"done_refund_approved":       "환불되었습니다. 이 가맹점은 이런 요청을 바로 승인합니다.",
		"err_sub_not_found":          "내 정기 결제가 아니거나 이미 없습니다.",
		"err_charge_not_found":       "내 결제가 아닙니다.",
		"err_refund_open":            "이 결제의 환불을 이미 요청했습니다. 가맹점의 답변을 기다려 주세요.",
		"err_refund_not_refundable":  "환불할 수 있는 금액이 남아 있지 않은 결제입니다.",
		"err_reason":                 "이유를 짧게 적어 주세요 (255자 이하).",
		"footer":                     "번호는 가려서만 보여 드립니다. 이 페이지는 다른 사이트에서 아무것도 불러오지 않습니다.",
	},
}

// waitText says a wait in whole minutes or seconds, in lang.
func waitText(lang string, secs int) string {
	if secs >= 60 {
		m := (secs + 59) / 60
		if lang == langKO {
			return itoa(m) + "분"
		}
		return itoa(m) + " min"
	}
	if lang == langKO {
		return itoa(secs) + "초"
	}
	return itoa(secs) + " s"
}

func itoa(n int) string { return strconv.Itoa(n) }
