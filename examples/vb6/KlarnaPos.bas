Attribute VB_Name = "KlarnaPos"
' KlarnaPos.bas: Klarna in-store payments for a VB6 till, through the `_w` layer of
' klarna_pos.dll (32-bit build, target\windows\x86): stdcall functions, strings in as UTF-16
' (StrPtr), strings out into the till's own String buffers. docs/windows.md explains the layer.
'
' Put klarna_pos.dll (the x86 one) next to the till's .exe. In the VB6 IDE the DLL is searched
' next to VB6.EXE and on PATH instead: copy it there, or add its folder to PATH, while
' developing.
'
' Handles (client, session) are Longs: opaque pointers, 0 means none. Every function returning
' a result code gives KPOS_OK (0) on success; LastErrorMessage() then tells what went wrong.
Option Explicit

Public Const KPOS_OK As Long = 0
Public Const KPOS_E_INVALID_ARGUMENT As Long = 1
Public Const KPOS_E_TIMEOUT As Long = 30
Public Const KPOS_E_CANCELLED As Long = 50

Public Const KPOS_STATUS_DISTRIBUTED As Long = 2
Public Const KPOS_STATUS_ACCESSED As Long = 3
Public Const KPOS_STATUS_COMPLETED As Long = 4
Public Const KPOS_STATUS_CANCELED As Long = 5
Public Const KPOS_STATUS_FAILED As Long = 6
Public Const KPOS_STATUS_EXPIRED As Long = 7

' Strings go in as ByVal StrPtr(text) (a UTF-16 pointer; 0& for NULL). Buffers are a String of
' n characters passed as ByVal StrPtr(buffer) with capacity n + 1 (VB keeps a NUL after the
' last character). A function writing into a buffer returns the characters the whole text
' needs: call it with 0&, 0 to size the buffer (see the helpers below); -1 means refused.
Public Declare Function kpos_version_w Lib "klarna_pos.dll" (ByVal buf As Long, ByVal cap As Long) As Long
Public Declare Function kpos_client_new_w Lib "klarna_pos.dll" (ByVal configJson As Long, ByRef client As Long) As Long
Public Declare Sub kpos_client_free_w Lib "klarna_pos.dll" (ByVal client As Long)
Public Declare Function kpos_session_create_w Lib "klarna_pos.dll" (ByVal client As Long, ByVal orderJson As Long, ByRef session As Long) As Long
Public Declare Function kpos_session_wait_w Lib "klarna_pos.dll" (ByVal session As Long, ByVal timeoutMs As Long, ByRef status As Long) As Long
Public Declare Function kpos_session_poll_w Lib "klarna_pos.dll" (ByVal session As Long, ByRef status As Long) As Long
Public Declare Function kpos_session_cancel_w Lib "klarna_pos.dll" (ByVal session As Long) As Long
Public Declare Sub kpos_session_free_w Lib "klarna_pos.dll" (ByVal session As Long)
Public Declare Function kpos_session_id_w Lib "klarna_pos.dll" (ByVal session As Long, ByVal buf As Long, ByVal cap As Long) As Long
Public Declare Function kpos_session_qr_url_w Lib "klarna_pos.dll" (ByVal session As Long, ByVal buf As Long, ByVal cap As Long) As Long
Public Declare Function kpos_session_payment_link_w Lib "klarna_pos.dll" (ByVal session As Long, ByVal buf As Long, ByVal cap As Long) As Long
Public Declare Function kpos_session_order_id_w Lib "klarna_pos.dll" (ByVal session As Long, ByVal buf As Long, ByVal cap As Long) As Long
Public Declare Function kpos_order_capture_w Lib "klarna_pos.dll" (ByVal client As Long, ByVal orderId As Long, ByVal captureJson As Long, ByVal idempotencyKey As Long, ByVal captureId As Long, ByVal captureIdCap As Long, ByRef captureIdLen As Long) As Long
Public Declare Function kpos_order_refund_w Lib "klarna_pos.dll" (ByVal client As Long, ByVal orderId As Long, ByVal refundJson As Long, ByVal idempotencyKey As Long, ByVal refundId As Long, ByVal refundIdCap As Long, ByRef refundIdLen As Long) As Long
Public Declare Function kpos_last_error_code_w Lib "klarna_pos.dll" () As Long
Public Declare Function kpos_last_error_message_w Lib "klarna_pos.dll" (ByVal buf As Long, ByVal cap As Long) As Long
Public Declare Function kpos_status_name_w Lib "klarna_pos.dll" (ByVal status As Long, ByVal buf As Long, ByVal cap As Long) As Long
Public Declare Function kpos_status_display_text_w Lib "klarna_pos.dll" (ByVal status As Long, ByVal buf As Long, ByVal cap As Long) As Long
Public Declare Function kpos_session_receipt_text_w Lib "klarna_pos.dll" (ByVal session As Long, ByVal language As Long, ByVal buf As Long, ByVal cap As Long) As Long

' Set by the till's Cancel button; TakePayment then cancels the payment at Klarna.
Public CancelRequested As Boolean
' The language of the receipt lines TakePayment keeps ("sv-SE", "de-DE", ...; "" for English),
' and the lines of the last payment that COMPLETED, ready for Printer.Print.
Public ReceiptLanguage As String
Public LastReceipt As String

' The message of the last failure on this thread, e.g. "KPOS_E_BAD_REQUEST: order_lines[0]...".
Public Function LastErrorMessage() As String
    Dim n As Long, buf As String
    n = kpos_last_error_message_w(0&, 0)
    If n <= 0 Then Exit Function
    buf = String$(n, vbNullChar)
    kpos_last_error_message_w StrPtr(buf), n + 1
    LastErrorMessage = buf
End Function

' The text to show the cashier for a status (e.g. "Scan the QR code with your phone").
Public Function StatusText(ByVal status As Long) As String
    Dim n As Long, buf As String
    n = kpos_status_display_text_w(status, 0&, 0)
    buf = String$(n, vbNullChar)
    kpos_status_display_text_w status, StrPtr(buf), n + 1
    StatusText = buf
End Function

' One of the session's strings: "id", "qr_url", "payment_link" or "order_id" ("" when not set).
Public Function SessionString(ByVal session As Long, ByVal which As String) As String
    Dim n As Long, buf As String, pass As Integer
    For pass = 1 To 2 ' first the size, then the text
        Select Case which
            Case "id": n = kpos_session_id_w(session, StrPtr(buf), Len(buf) + Sgn(Len(buf)))
            Case "qr_url": n = kpos_session_qr_url_w(session, StrPtr(buf), Len(buf) + Sgn(Len(buf)))
            Case "payment_link": n = kpos_session_payment_link_w(session, StrPtr(buf), Len(buf) + Sgn(Len(buf)))
            Case "order_id": n = kpos_session_order_id_w(session, StrPtr(buf), Len(buf) + Sgn(Len(buf)))
        End Select
        If n <= 0 Then Exit Function
        If pass = 1 Then buf = String$(n, vbNullChar)
    Next
    SessionString = buf
End Function

' The lines to print on the receipt of a COMPLETED payment, in language ("sv-SE", "de-DE", ...;
' "" for English), separated by vbCrLf for Printer.Print; "" when the payment is not COMPLETED
' (call it before kpos_session_free_w).
Public Function ReceiptText(ByVal session As Long, ByVal language As String) As String
    Dim n As Long, buf As String, lang As Long
    If Len(language) > 0 Then lang = StrPtr(language)
    n = kpos_session_receipt_text_w(session, lang, 0&, 0)
    If n <= 0 Then Exit Function
    buf = String$(n, vbNullChar)
    kpos_session_receipt_text_w session, lang, StrPtr(buf), n + 1
    ReceiptText = Replace(buf, vbLf, vbCrLf)
End Function

' Takes one payment: creates the session, shows the QR code (ShowQr is the till's own), waits
' for the customer while keeping the form responsive, and returns True with Klarna's order id
' once the payment COMPLETED. Gives up (and cancels at Klarna) after timeoutSeconds or when
' CancelRequested is set.
'
'   configJson: "" to read KLARNA_API_URL, KLARNA_USERNAME and KLARNA_PASSWORD from the
'   environment, or e.g. {"api_url":"https://api.klarna.com","username":"...","password":"..."}
'   orderJson:  Klarna's order; names and references in any language (VB Strings are UTF-16)
Public Function TakePayment(ByVal configJson As String, ByVal orderJson As String, _
                            ByVal timeoutSeconds As Long, ByRef orderId As String) As Boolean
    Dim client As Long, session As Long, rc As Long, status As Long, started As Single

    If configJson = "" Then
        rc = kpos_client_new_w(0&, client)
    Else
        rc = kpos_client_new_w(StrPtr(configJson), client)
    End If
    If rc <> KPOS_OK Then
        MsgBox "Klarna is not configured: " & LastErrorMessage(), vbExclamation
        Exit Function
    End If

    rc = kpos_session_create_w(client, StrPtr(orderJson), session)
    If rc <> KPOS_OK Then
        MsgBox "Klarna refused the payment: " & LastErrorMessage(), vbExclamation
        kpos_client_free_w client
        Exit Function
    End If

    CancelRequested = False
    started = Timer
    Do
        ' Short waits, so that the form stays responsive; KPOS_E_TIMEOUT only means "no change".
        rc = kpos_session_wait_w(session, 250, status)
        DoEvents
        If rc = KPOS_OK Then
            Debug.Print "Klarna: " & StatusText(status)
            If status = KPOS_STATUS_DISTRIBUTED Then ShowQr SessionString(session, "qr_url")
            If status >= KPOS_STATUS_COMPLETED And status <= KPOS_STATUS_EXPIRED Then Exit Do
        ElseIf rc <> KPOS_E_TIMEOUT Then
            Debug.Print "Klarna: " & LastErrorMessage()
        End If
        If CancelRequested Or Timer - started > timeoutSeconds Or Timer < started Then
            ' Cancelling is refused once the payment COMPLETED: poll once more to learn it.
            If kpos_session_cancel_w(session) <> KPOS_OK Then rc = kpos_session_poll_w(session, status)
            If status <> KPOS_STATUS_COMPLETED Then status = KPOS_STATUS_CANCELED
            Exit Do
        End If
    Loop

    LastReceipt = ""
    If status = KPOS_STATUS_COMPLETED Then
        orderId = SessionString(session, "order_id")
        LastReceipt = ReceiptText(session, ReceiptLanguage)
        TakePayment = True
    End If
    kpos_session_free_w session
    kpos_client_free_w client
End Function

' Refunds amountMinorUnits (ore, cents) of a paid order. refundKey identifies this refund
' (e.g. the return receipt's number): repeating the call with the same key never refunds twice.
Public Function Refund(ByVal configJson As String, ByVal orderId As String, _
                       ByVal amountMinorUnits As Long, ByVal description As String, _
                       ByVal refundKey As String, ByRef refundId As String) As Boolean
    Dim client As Long, rc As Long, body As String, n As Long

    If configJson = "" Then
        rc = kpos_client_new_w(0&, client)
    Else
        rc = kpos_client_new_w(StrPtr(configJson), client)
    End If
    If rc <> KPOS_OK Then Exit Function
    body = "{""refunded_amount"":" & CStr(amountMinorUnits) & ",""description"":""" & _
           Replace(Replace(description, "\", "\\"), """", "\""") & """}"
    refundId = String$(64, vbNullChar)
    rc = kpos_order_refund_w(client, StrPtr(orderId), StrPtr(body), StrPtr(refundKey), _
                             StrPtr(refundId), 65, n)
    If rc = KPOS_OK And n > 64 Then
        ' The id did not fit: the same key gives the same refund, once, with the whole id.
        refundId = String$(n, vbNullChar)
        rc = kpos_order_refund_w(client, StrPtr(orderId), StrPtr(body), StrPtr(refundKey), _
                                 StrPtr(refundId), n + 1, n)
    End If
    If rc = KPOS_OK Then
        refundId = Left$(refundId, n)
        Refund = True
    Else
        MsgBox "The refund failed: " & LastErrorMessage(), vbExclamation
    End If
    kpos_client_free_w client
End Function

' The till's own: show the QR code of this URL to the customer (an Image control loading it,
' or a QR control drawing it).
Private Sub ShowQr(ByVal url As String)
    Debug.Print "Show the QR code of " & url
End Sub
