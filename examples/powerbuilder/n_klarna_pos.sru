$PBExportHeader$n_klarna_pos.sru
$PBExportComments$Klarna in-store payments through klarna_pos.dll (the _w layer: stdcall, UTF-16)
forward
global type n_klarna_pos from nonvisualobject
end type
end forward

global type n_klarna_pos from nonvisualobject
end type
global n_klarna_pos n_klarna_pos

type prototypes
// klarna_pos.dll next to the application (x86 for a 32-bit build, x64 for a 64-bit one).
// PowerBuilder (10 and later) passes a string argument as a UTF-16 pointer, which is what
// every _w function takes; a "ref string" is the application's own buffer, sized with Space()
// before the call, its capacity given as Len + 1. Handles are longptr (ulong before
// PowerBuilder 12.6). The functions writing into a buffer return the characters the whole text
// needs (call them with an empty buffer and capacity 0 to size one); -1 means refused.
FUNCTION long kpos_version_w(ref string buf, long cap) LIBRARY "klarna_pos.dll"
FUNCTION ulong kpos_client_new_w(string config_json, ref longptr client) LIBRARY "klarna_pos.dll"
FUNCTION ulong kpos_client_from_environment_w(longptr no_config, ref longptr client) LIBRARY "klarna_pos.dll" ALIAS FOR "kpos_client_new_w"
SUBROUTINE kpos_client_free_w(longptr client) LIBRARY "klarna_pos.dll"
FUNCTION ulong kpos_session_create_w(longptr client, string order_json, ref longptr session) LIBRARY "klarna_pos.dll"
FUNCTION ulong kpos_session_wait_w(longptr session, ulong timeout_ms, ref ulong status) LIBRARY "klarna_pos.dll"
FUNCTION ulong kpos_session_poll_w(longptr session, ref ulong status) LIBRARY "klarna_pos.dll"
FUNCTION ulong kpos_session_cancel_w(longptr session) LIBRARY "klarna_pos.dll"
SUBROUTINE kpos_session_free_w(longptr session) LIBRARY "klarna_pos.dll"
FUNCTION long kpos_session_id_w(longptr session, ref string buf, long cap) LIBRARY "klarna_pos.dll"
FUNCTION long kpos_session_qr_url_w(longptr session, ref string buf, long cap) LIBRARY "klarna_pos.dll"
FUNCTION long kpos_session_payment_link_w(longptr session, ref string buf, long cap) LIBRARY "klarna_pos.dll"
FUNCTION long kpos_session_order_id_w(longptr session, ref string buf, long cap) LIBRARY "klarna_pos.dll"
FUNCTION ulong kpos_order_capture_w(longptr client, string order_id, string capture_json, string idempotency_key, ref string capture_id, long capture_id_cap, ref long capture_id_len) LIBRARY "klarna_pos.dll"
FUNCTION ulong kpos_order_refund_w(longptr client, string order_id, string refund_json, string idempotency_key, ref string refund_id, long refund_id_cap, ref long refund_id_len) LIBRARY "klarna_pos.dll"
FUNCTION ulong kpos_last_error_code_w() LIBRARY "klarna_pos.dll"
FUNCTION long kpos_last_error_message_w(ref string buf, long cap) LIBRARY "klarna_pos.dll"
FUNCTION long kpos_status_name_w(ulong status, ref string buf, long cap) LIBRARY "klarna_pos.dll"
FUNCTION long kpos_status_display_text_w(ulong status, ref string buf, long cap) LIBRARY "klarna_pos.dll"
FUNCTION long kpos_session_receipt_text_w(longptr session, string language, ref string buf, long cap) LIBRARY "klarna_pos.dll"
end prototypes

type variables
// KPOS_OK, KPOS_E_TIMEOUT and the statuses of include/klarna_pos.h.
constant ulong KPOS_OK = 0
constant ulong KPOS_E_TIMEOUT = 30
constant ulong KPOS_STATUS_DISTRIBUTED = 2
constant ulong KPOS_STATUS_COMPLETED = 4
constant ulong KPOS_STATUS_CANCELED = 5
constant ulong KPOS_STATUS_EXPIRED = 7

// Set by the till's Cancel button; of_take_payment then cancels the payment at Klarna.
boolean ib_cancel_requested = false
// The language of the receipt lines of_take_payment keeps ("sv-SE", "de-DE", ...; "en" for
// English), and the lines of the last payment that COMPLETED.
string is_receipt_language = "en"
string is_last_receipt = ""
end variables

forward prototypes
public function string of_last_error ()
public function string of_status_text (unsignedlong aul_status)
public function string of_order_id (longptr al_session)
public function string of_receipt_text (longptr al_session, string as_language)
public function boolean of_take_payment (string as_config_json, string as_order_json, long al_timeout_seconds, ref string as_order_id)
public function boolean of_refund (string as_config_json, string as_order_id, long al_amount, string as_description, string as_refund_key, ref string as_refund_id)
end prototypes

public function string of_last_error ();
// The message of the last failure on this thread, e.g. "KPOS_E_BAD_REQUEST: ...".
long ll_len
string ls_buf = ""
ll_len = kpos_last_error_message_w(ls_buf, 0)
if ll_len <= 0 then return ""
ls_buf = Space(ll_len)
kpos_last_error_message_w(ls_buf, ll_len + 1)
return ls_buf
end function

public function string of_status_text (unsignedlong aul_status);
// The text to show the cashier for a status ("Scan the QR code with your phone", ...).
long ll_len
string ls_buf = ""
ll_len = kpos_status_display_text_w(aul_status, ls_buf, 0)
ls_buf = Space(ll_len)
kpos_status_display_text_w(aul_status, ls_buf, ll_len + 1)
return ls_buf
end function

public function string of_order_id (longptr al_session);
// Klarna's order id of a COMPLETED payment, "" before.
long ll_len
string ls_buf = ""
ll_len = kpos_session_order_id_w(al_session, ls_buf, 0)
if ll_len <= 0 then return ""
ls_buf = Space(ll_len)
kpos_session_order_id_w(al_session, ls_buf, ll_len + 1)
return ls_buf
end function

public function string of_receipt_text (longptr al_session, string as_language);
// The lines to print on the receipt of a COMPLETED payment, in as_language ("sv-SE", "de-DE",
// ...; "en" for English), lines separated by "~r~n"; "" when the payment is not COMPLETED.
long ll_len, ll_pos
string ls_buf = ""
ll_len = kpos_session_receipt_text_w(al_session, as_language, ls_buf, 0)
if ll_len <= 0 then return ""
ls_buf = Space(ll_len)
kpos_session_receipt_text_w(al_session, as_language, ls_buf, ll_len + 1)
// The library separates lines with "~n"; printers and MultiLineEdits want "~r~n".
ll_pos = Pos(ls_buf, "~n")
do while ll_pos > 0
	ls_buf = Replace(ls_buf, ll_pos, 1, "~r~n")
	ll_pos = Pos(ls_buf, "~n", ll_pos + 2)
loop
return ls_buf
end function

public function boolean of_take_payment (string as_config_json, string as_order_json, long al_timeout_seconds, ref string as_order_id);
// Takes one payment: creates the session, shows the QR code, waits for the customer while the
// window stays responsive, and returns true with Klarna's order id once it COMPLETED. Gives up
// (cancelling at Klarna) after al_timeout_seconds or when ib_cancel_requested is set.
// as_config_json "" reads KLARNA_API_URL, KLARNA_USERNAME and KLARNA_PASSWORD from the
// environment. The order may carry text in any language: it goes in as UTF-16.
longptr ll_client, ll_session
ulong lul_rc, lul_status
long ll_len
string ls_qr = ""
datetime ldt_start
boolean lb_paid = false

if as_config_json = "" then
	lul_rc = kpos_client_from_environment_w(0, ll_client)
else
	lul_rc = kpos_client_new_w(as_config_json, ll_client)
end if
if lul_rc <> KPOS_OK then
	MessageBox("Klarna", "Klarna is not configured: " + of_last_error(), Exclamation!)
	return false
end if

lul_rc = kpos_session_create_w(ll_client, as_order_json, ll_session)
if lul_rc <> KPOS_OK then
	MessageBox("Klarna", "Klarna refused the payment: " + of_last_error(), Exclamation!)
	kpos_client_free_w(ll_client)
	return false
end if

ib_cancel_requested = false
ldt_start = DateTime(Today(), Now())
do
	// Short waits keep the window responsive; KPOS_E_TIMEOUT only means "no change yet".
	lul_rc = kpos_session_wait_w(ll_session, 250, lul_status)
	Yield()
	if lul_rc = KPOS_OK then
		// Show of_status_text(lul_status) to the cashier.
		if lul_status = KPOS_STATUS_DISTRIBUTED then
			ll_len = kpos_session_qr_url_w(ll_session, ls_qr, 0)
			ls_qr = Space(ll_len)
			kpos_session_qr_url_w(ll_session, ls_qr, ll_len + 1)
			// Show the QR code of ls_qr to the customer.
		end if
		if lul_status >= KPOS_STATUS_COMPLETED and lul_status <= KPOS_STATUS_EXPIRED then exit
	end if
	if ib_cancel_requested or SecondsAfter(Time(ldt_start), Now()) > al_timeout_seconds then
		// Cancelling is refused once the payment COMPLETED: poll once more to learn it.
		if kpos_session_cancel_w(ll_session) <> KPOS_OK then kpos_session_poll_w(ll_session, lul_status)
		if lul_status <> KPOS_STATUS_COMPLETED then lul_status = KPOS_STATUS_CANCELED
		exit
	end if
loop while true

is_last_receipt = ""
if lul_status = KPOS_STATUS_COMPLETED then
	as_order_id = of_order_id(ll_session)
	is_last_receipt = of_receipt_text(ll_session, is_receipt_language)
	lb_paid = true
end if
kpos_session_free_w(ll_session)
kpos_client_free_w(ll_client)
return lb_paid
end function

public function boolean of_refund (string as_config_json, string as_order_id, long al_amount, string as_description, string as_refund_key, ref string as_refund_id);
// Refunds al_amount minor units (ore, cents) of a paid order. as_refund_key identifies this
// refund (e.g. the return receipt's number): the same key never refunds twice.
// as_description goes into JSON as it is: escape " and \ in it first.
longptr ll_client
ulong lul_rc
long ll_len
string ls_body

if as_config_json = "" then
	lul_rc = kpos_client_from_environment_w(0, ll_client)
else
	lul_rc = kpos_client_new_w(as_config_json, ll_client)
end if
if lul_rc <> KPOS_OK then return false
ls_body = '{"refunded_amount":' + String(al_amount) + ',"description":"' + as_description + '"}'
as_refund_id = Space(64)
lul_rc = kpos_order_refund_w(ll_client, as_order_id, ls_body, as_refund_key, as_refund_id, 65, ll_len)
if lul_rc = KPOS_OK and ll_len > 64 then
	// The id did not fit: the same key gives the same refund, once, with the whole id.
	as_refund_id = Space(ll_len)
	lul_rc = kpos_order_refund_w(ll_client, as_order_id, ls_body, as_refund_key, as_refund_id, ll_len + 1, ll_len)
end if
if lul_rc <> KPOS_OK then
	MessageBox("Klarna", "The refund failed: " + of_last_error(), Exclamation!)
	kpos_client_free_w(ll_client)
	return false
end if
as_refund_id = Left(as_refund_id, ll_len)
kpos_client_free_w(ll_client)
return true
end function

on n_klarna_pos.create
call super::create
TriggerEvent( this, "constructor" )
end on

on n_klarna_pos.destroy
TriggerEvent( this, "destructor" )
call super::destroy
end on
