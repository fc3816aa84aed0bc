/*
 * klarna_pos_hpp.cpp: include/klarna_pos.hpp against the simulator in KLARNA_API_URL: the
 * payment flow through the RAII types, UTF-8 both ways, klarna_pos::error with its detail,
 * timeout, cancel from another thread, moved-from objects; after the sale, Order Management
 * exactly once, the journal, webhook verification, local QR codes and the cashier texts.
 * Prints `ok - NAME` per check.
 * Compiled with g++ -std=c++11 -Wall -Wextra -Werror -pthread by tests/c_programs.rs.
 */

#define _POSIX_C_SOURCE 200809L

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness.h"
#include "klarna_pos.hpp"
#include "sim_control.h"

namespace {

std::string config(const std::string &password, const std::string &extra = std::string())
{
    return std::string("{\"api_url\":\"") + getenv("KLARNA_API_URL") + "\",\"username\":\"" +
           getenv("KLARNA_USERNAME") + "\",\"password\":\"" + password +
           "\",\"poll_interval_ms\":100" + extra + "}";
}

klarna_pos::client test_client() { return klarna_pos::client(config(getenv("KLARNA_PASSWORD"))); }

/* Runs `call`, returning the klarna_pos::error it throws (code KPOS_OK when none). */
template <typename F> klarna_pos::error thrown(F call)
{
    try {
        call();
    } catch (const klarna_pos::error &e) {
        return e;
    }
    return klarna_pos::error(KPOS_OK, "nothing was thrown");
}

void payment_flow()
{
    klarna_pos::client client = test_client();
    klarna_pos::session session = client.create_session(VALID_ORDER);
    CHECK(!session.id().empty(), "session id");
    CHECK(session.status() == klarna_pos::status::created, "created before the first poll");
    CHECK(session.qr_url().empty(), "no QR before the first poll");
    CHECK(session.poll() == klarna_pos::status::distributed, "first poll: distributed");
    CHECK_CONTAINS(session.qr_url().c_str(), session.id().c_str(), "QR URL names the session");
    CHECK(!session.failure(), "no failure");
    sim_customer(session.id().c_str(), "scan", "{}");
    CHECK(session.wait(std::chrono::seconds(10)) == klarna_pos::status::accessed, "accessed");
    sim_customer(session.id().c_str(), "approve", "{\"order_id\":\"ORDER-CPP-1\"}");
    CHECK(session.wait(std::chrono::seconds(10)) == klarna_pos::status::completed, "completed");
    CHECK(klarna_pos::is_terminal(session.status()), "completed is terminal");
    CHECK_STR(klarna_pos::status_name(session.status()).c_str(), "COMPLETED", "status name");
    CHECK_STR(session.order_id().c_str(), "ORDER-CPP-1", "order id");
    klarna_pos::error conflict = thrown([&] { session.cancel(); });
    CHECK_CODE(conflict.code(), KPOS_E_CONFLICT, "cancel after completion is a conflict");
}

void utf8_both_ways()
{
    const std::string name = "Kaffee \xe2\x80\x93 Gr\xc3\xb6\xc3\x9f" "e L \xf0\x9f\x99\x82";
    std::string order = VALID_ORDER;
    order.replace(order.find("Cappuccino, stor"), 16, name);
    klarna_pos::client client = test_client();
    klarna_pos::session session = client.create_session(order);
    char record[16384];
    CHECK(sim_session(session.id().c_str(), record, sizeof record) == 200, "simulator record");
    CHECK_CONTAINS(record, ("\"name\\\":\\\"" + name + "\\\"").c_str(),
                   "the order line name reached Klarna byte-exact");

    std::string bad = VALID_ORDER;
    bad.replace(bad.find("\"SEK\""), 5, "\"KR\xc3\x96\"");
    klarna_pos::error e = thrown([&] { client.create_session(bad); });
    CHECK_CODE(e.code(), KPOS_E_BAD_REQUEST, "currency KR\xc3\x96 is a bad request");
    CHECK_CONTAINS(e.message().c_str(), "KR\xc3\x96", "the message keeps the UTF-8 text");
}

void errors_carry_their_detail()
{
    klarna_pos::client client = test_client();
    klarna_pos::error e = thrown([&] { client.create_session(ORDER_WITH_WRONG_TAX); });
    CHECK_CODE(e.code(), KPOS_E_BAD_REQUEST, "wrong tax is a bad request");
    CHECK_STR(e.name().c_str(), "KPOS_E_BAD_REQUEST", "name");
    CHECK(e.action() == KPOS_ACTION_FIX_INPUT, "action");
    CHECK_STR(e.field().c_str(), "order_lines[0].total_tax_amount", "field");
    CHECK_CONTAINS(e.what(), "KPOS_E_BAD_REQUEST: ", "what() starts with the name");
    CHECK(e.http_status() == 0 && e.correlation_id().empty(), "nothing from Klarna");
    CHECK_CONTAINS(e.json().c_str(), "\"field\"", "the raw JSON is kept");

    klarna_pos::client wrong(config("not-the-password"));
    e = thrown([&] { wrong.create_session(VALID_ORDER); });
    CHECK_CODE(e.code(), KPOS_E_PERMISSION_DENIED, "wrong password");
    CHECK(e.http_status() == 401, "HTTP status 401");
    CHECK(!e.correlation_id().empty(), "a correlation id");
    CHECK_CONTAINS(e.what(), e.correlation_id().c_str(), "what() shows the correlation id");

    e = thrown([] { klarna_pos::client c("{\"usernme\":\"u\"}"); });
    CHECK_CODE(e.code(), KPOS_E_INVALID_ARGUMENT, "unknown configuration key");
    CHECK_STR(e.field().c_str(), "usernme", "field names the key");

    e = thrown([&] { client.create_session(std::string("{}\0{}", 5)); });
    CHECK_CODE(e.code(), KPOS_E_INVALID_ARGUMENT, "NUL inside the order");
    CHECK_STR(e.field().c_str(), "order", "field of the NUL");
}

void versions_are_compared_by_major()
{
    CHECK(klarna_pos::version_number() == KPOS_VERSION_NUMBER, "the library is the header's version");
    CHECK(klarna_pos::detail::version_mismatch(10203, 10000).empty(), "same major: accepted");
    std::string why = klarna_pos::detail::version_mismatch(20001, 10203);
    CHECK_CONTAINS(why.c_str(), "2.0.1", "the message names the library's version");
    CHECK_CONTAINS(why.c_str(), "1.2.3", "the message names the header's version");
    CHECK(!klarna_pos::detail::version_mismatch(1, 10000).empty(), "0.x against 1.x: refused");
}

void error_messages_lose_only_their_prefix_and_suffix()
{
    CHECK_STR(klarna_pos::detail::bare_message(KPOS_E_NOT_FOUND,
                                               "KPOS_E_NOT_FOUND: no such order (correlation_id c-1)",
                                               "c-1").c_str(),
              "no such order", "prefix and correlation suffix removed");
    CHECK_STR(klarna_pos::detail::bare_message(KPOS_E_NOT_FOUND, "text: KPOS_E_NOT_FOUND", "").c_str(),
              "text: KPOS_E_NOT_FOUND", "other text is kept");
}

void timeout_and_cancel_from_another_thread()
{
    klarna_pos::client client = test_client();
    klarna_pos::session session = client.create_session(VALID_ORDER);
    session.poll();
    double started = now_ms();
    klarna_pos::error e = thrown([&] { session.wait(std::chrono::milliseconds(300)); });
    CHECK_CODE(e.code(), KPOS_E_TIMEOUT, "wait without change times out");
    CHECK(now_ms() - started >= 290, "after the timeout");
    CHECK(session.status() == klarna_pos::status::distributed, "last known status");

    // Cancel once the simulator has seen the wait's first status read: the wait is then
    // blocked inside the library, not about to start.
    char record[8192];
    const std::string id = session.id();
    long polls_before = -1;
    if (sim_session(id.c_str(), record, sizeof record) == 200)
        polls_before = sim_json_int(record, "polls");
    std::atomic<bool> cancelled(false);
    std::thread canceller([&] {
        const double give_up = now_ms() + 10000;
        while (now_ms() < give_up) {
            char seen[8192];
            if (sim_session(id.c_str(), seen, sizeof seen) == 200 &&
                sim_json_int(seen, "polls") > polls_before)
                break;
        }
        session.cancel();
        cancelled = true;
    });
    e = thrown([&] { session.wait(std::chrono::seconds(10)); });
    canceller.join();
    CHECK_CODE(e.code(), KPOS_E_CANCELLED, "cancel from another thread releases wait");
    CHECK(cancelled, "the cancelling thread ran");
    CHECK(session.status() == klarna_pos::status::canceled, "canceled");
}

void moved_from_objects_are_refused_not_crashed()
{
    klarna_pos::client client = test_client();
    klarna_pos::session first = client.create_session(VALID_ORDER);
    std::string id = first.id();
    klarna_pos::session second = std::move(first);
    CHECK(first.get() == nullptr, "moved-from session holds nothing");
    CHECK_STR(second.id().c_str(), id.c_str(), "moved-to session is the same");
    CHECK_CODE(thrown([&] { first.poll(); }).code(), KPOS_E_INVALID_ARGUMENT,
               "a moved-from session is refused");
    klarna_pos::client other = std::move(client);
    CHECK_CODE(thrown([&] { client.create_session(VALID_ORDER); }).code(),
               KPOS_E_INVALID_ARGUMENT, "a moved-from client is refused");
    CHECK(second.poll() == klarna_pos::status::distributed, "the moved-to session works");
}

void failed_session_reports_its_failure()
{
    klarna_pos::client client = test_client();
    klarna_pos::session session = client.create_session(VALID_ORDER);
    session.poll();
    sim_customer(session.id().c_str(), "fail", "{\"code\":\"PERMISSION_DENIED\"}");
    CHECK(session.wait(std::chrono::seconds(10)) == klarna_pos::status::failed, "failed");
    std::unique_ptr<klarna_pos::error> failure = session.failure();
    CHECK(failure && failure->code() == KPOS_E_PERMISSION_DENIED, "failure is permission denied");
    CHECK(failure && failure->klarna_error_code() == "PERMISSION_DENIED", "Klarna's code");
}

/* Completes a session of VALID_ORDER (9000); Klarna places the order with `order_id`. */
std::string paid_order(klarna_pos::client &client, const std::string &order_id)
{
    klarna_pos::session session = client.create_session(VALID_ORDER);
    sim_customer(session.id().c_str(), "approve", ("{\"order_id\":\"" + order_id + "\"}").c_str());
    return order_id;
}

/* How often `part` occurs in `text`. */
int occurrences(const std::string &text, const std::string &part)
{
    int n = 0;
    for (std::string::size_type at = text.find(part); at != std::string::npos;
         at = text.find(part, at + part.size()))
        ++n;
    return n;
}

std::string ledger(const std::string &order_id)
{
    char body[65536];
    CHECK(sim_get(("/_sim/orders/" + order_id).c_str(), body, sizeof body) == 200, "order ledger");
    return body;
}

void order_management_exactly_once()
{
    klarna_pos::client client = test_client();
    CHECK(sim_post("/_sim/config", "{\"auto_capture\":true}") == 200, "capture orders when placed");
    std::string order_id = paid_order(client, "ORDER-CPP-REFUND");
    CHECK(sim_post("/_sim/config", "{\"auto_capture\":false}") == 200, "back to authorizing");
    CHECK_CONTAINS(client.get_order(order_id).c_str(), "\"status\":\"CAPTURED\"", "get_order: captured");

    const std::string body = "{\"refunded_amount\":4500,\"reference\":\"R-1001\"}";
    std::string first = client.refund(order_id, body, "till3-R1001");
    std::string second = client.refund(order_id, body, "till3-R1001");
    CHECK(!first.empty() && first == second, "a refund repeated with its key returns the same id");
    std::string booked = ledger(order_id);
    CHECK(occurrences(booked, "\"refund_id\"") == 1, "booked once");
    CHECK_CONTAINS(booked.c_str(), first.c_str(), "the ledger has the refund id");
    CHECK(!client.refund(order_id, "{\"refunded_amount\":100}").empty(), "a generated key");

    klarna_pos::error e = thrown([&] { client.refund(order_id, "{\"refunded_amount\":4401}"); });
    CHECK_CODE(e.code(), KPOS_E_CONFLICT, "a refund above the captured amount is a conflict");
    CHECK_STR(e.klarna_error_code().c_str(), "REFUND_NOT_ALLOWED", "Klarna's code");
    e = thrown([&] { client.cancel_order(order_id); });
    CHECK_CODE(e.code(), KPOS_E_CONFLICT, "a cancel after a capture is a conflict");
    e = thrown([&] { client.refund(order_id, "{\"refunded_amount\":-1}"); });
    CHECK_CODE(e.code(), KPOS_E_BAD_REQUEST, "a negative refund is refused locally");
    CHECK_STR(e.field().c_str(), "refunded_amount", "field");
    e = thrown([&] { client.get_order("no-such-order"); });
    CHECK_CODE(e.code(), KPOS_E_NOT_FOUND, "an unknown order");

    std::string part = paid_order(client, "ORDER-CPP-CAPTURE");
    std::string capture_id = client.capture(part, "{\"captured_amount\":4500}", "cap-1");
    CHECK_CONTAINS(ledger(part).c_str(), capture_id.c_str(), "the ledger has the capture id");
    client.release_remaining_authorization(part);
    CHECK_CONTAINS(client.get_order(part).c_str(), "\"status\":\"CAPTURED\"", "released: captured");

    std::string voided = paid_order(client, "ORDER-CPP-VOID");
    client.cancel_order(voided, "void-1");
    CHECK_CONTAINS(client.get_order(voided).c_str(), "\"status\":\"CANCELLED\"", "cancelled");
    e = thrown([&] { client.release_remaining_authorization(voided); });
    CHECK_CODE(e.code(), KPOS_E_CONFLICT, "a release after a cancel is a conflict");
}

void journal_lists_open_sessions()
{
    char dir[] = "/tmp/klarna-pos-hpp-XXXXXX";
    CHECK(mkdtemp(dir) != nullptr, "a journal directory");
    {
        klarna_pos::client client(config(getenv("KLARNA_PASSWORD"),
                                         std::string(",\"journal_dir\":\"") + dir + "\""));
        CHECK(occurrences(client.journal_pending(), "\"kind\"") == 0, "nothing open");
        klarna_pos::session session = client.create_session(VALID_ORDER);
        std::string pending = client.journal_pending();
        CHECK_CONTAINS(pending.c_str(), ("\"session_id\":\"" + session.id() + "\"").c_str(),
                       "the session is listed");
        session.poll();
        sim_customer(session.id().c_str(), "approve", "{}");
        CHECK(session.wait(std::chrono::seconds(10)) == klarna_pos::status::completed, "completed");
        CHECK(occurrences(client.journal_pending(), "\"kind\"") == 0, "closed once terminal");

        // The store's day: the receipt, the lookup by reference, the report.
        std::string receipt = session.receipt_text("sv");
        CHECK(receipt.compare(0, 19, "Betalat med Klarna\n") == 0, "the Swedish receipt");
        CHECK_CONTAINS(receipt.c_str(), "90,00 SEK", "the amount with a decimal comma");
        CHECK_CONTAINS(receipt.c_str(), session.order_id().c_str(), "the order id");
        CHECK_CONTAINS(session.receipt_text().c_str(), "Paid with Klarna", "English by default");
        std::string found = client.history_find("K042-1-000731");
        CHECK(occurrences(found, "\"outcome\":\"paid\"") == 1, "found paid by reference");
        CHECK(client.history_find("nothing-here") == "[]", "nothing known");
        std::string report = client.history_report("2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z");
        CHECK_CONTAINS(report.c_str(), "\"paid\":{\"count\":1,\"amount\":9000}", "the day's total");
        klarna_pos::error e = thrown([&] { client.history_report("today", "2100-01-01T00:00:00Z"); });
        CHECK_CODE(e.code(), KPOS_E_INVALID_ARGUMENT, "a bad bound");
        CHECK(e.field() == "from", "the bad bound is named");
        klarna_pos::session open = client.create_session(VALID_ORDER);
        CHECK_CODE(thrown([&] { open.receipt_text(); }).code(), KPOS_E_CONFLICT,
                   "no receipt before COMPLETED");
        open.cancel();
    }
    std::string remove_all = std::string("rm -rf ") + dir;
    CHECK(system(remove_all.c_str()) == 0, "the journal directory is removed");
    unlink((std::string(dir) + "/klarna-pos.journal").c_str());
    unlink((std::string(dir) + "/klarna-pos.journal.lock").c_str());
    rmdir(dir);
    klarna_pos::client plain = test_client();
    CHECK_CODE(thrown([&] { plain.journal_pending(); }).code(), KPOS_E_INVALID_ARGUMENT,
               "journal_pending without a journal_dir");
}

/* The value of `name=` in a URL's query. */
std::string query_parameter(const std::string &url, const std::string &name)
{
    std::string::size_type at = url.find(name + "=");
    if (at == std::string::npos)
        return std::string();
    at += name.size() + 1;
    std::string::size_type end = url.find('&', at);
    return url.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

void health_check_reports_each_step()
{
    klarna_pos::client client = test_client();
    klarna_pos::check_result r = client.check();
    CHECK_CODE(r.code, KPOS_OK, "the health check passes against the simulator");
    CHECK_CONTAINS(r.report_json.c_str(), "{\"step\":\"credentials\",\"verdict\":\"ok\"", "the report lists the steps");
    klarna_pos::client wrong = klarna_pos::client(config("wrong-password"));
    CHECK_CODE(wrong.check().code, KPOS_E_PERMISSION_DENIED, "wrong credentials are named");
}

void webhook_tokens_are_verified()
{
    /* Nothing listens there: the simulator's deliveries fail, and the test plays the receiver. */
    klarna_pos::client client(config(getenv("KLARNA_PASSWORD"),
                                     ",\"webhook_url\":\"http://127.0.0.1:9/klarna/status\""));
    klarna_pos::session session = client.create_session(VALID_ORDER);
    CHECK(session.poll() == klarna_pos::status::distributed, "distributed");
    char record[65536], url[1024];
    CHECK(sim_session(session.id().c_str(), record, sizeof record) == 200, "simulator record");
    CHECK(sim_json_str(record, "callback_url", url, sizeof url), "the callback URL");
    std::string callback = url;
    std::string token = query_parameter(callback, "kpos_token");
    CHECK(token.size() == 43, "a 43-character token");
    std::string forged_token = token.substr(0, 42) + (token[42] == 'A' ? "B" : "A");
    std::string forged = callback;
    forged.replace(forged.find(token), token.size(), forged_token);

    const std::string claim = "{\"status\":\"COMPLETED\",\"order_id\":\"forged\"}";
    klarna_pos::error e = thrown([&] { client.webhook_verify(forged, claim); });
    CHECK_CODE(e.code(), KPOS_E_PERMISSION_DENIED, "a forged token is refused");
    CHECK(std::string(e.what()).find(token) == std::string::npos, "no token in the error");
    e = thrown([&] { client.webhook_verify("/klarna/status", claim); });
    CHECK_CODE(e.code(), KPOS_E_PERMISSION_DENIED, "no token is refused");
    CHECK(session.status() == klarna_pos::status::distributed, "nothing changed");

    const std::string payload = "{\"status\":\"ACCESSED\",\"session_id\":\"" + session.id() + "\"}";
    e = thrown([&] { client.webhook_verify(callback, payload + std::string("\0x", 2)); });
    CHECK_CODE(e.code(), KPOS_E_BAD_REQUEST, "a NUL does not shorten the body");
    e = thrown([&] { client.webhook_verify(callback + std::string("\0", 1), payload); });
    CHECK_CODE(e.code(), KPOS_E_PERMISSION_DENIED, "a NUL after the token is part of it");
    klarna_pos::webhook_result result = client.webhook_verify(callback, payload);
    CHECK_STR(result.session_id.c_str(), session.id().c_str(), "the session id");
    CHECK(result.status == klarna_pos::status::accessed, "the status after the callback");
    CHECK(session.status() == klarna_pos::status::accessed, "the session learned it");
}

void qr_codes_and_display_texts()
{
    const std::string link = "https://pay.klarna.com/eu/p/7d2a4f0e?q=Kaffeb\xc3\xb6nor";
    const klarna_pos::qr_format formats[] = {
        klarna_pos::qr_format::svg,    klarna_pos::qr_format::png,
        klarna_pos::qr_format::text,   klarna_pos::qr_format::escpos,
        klarna_pos::qr_format::escpos_native, klarna_pos::qr_format::text_inverse};
    bool all_drawn = true;
    for (klarna_pos::qr_format f : formats)
        all_drawn = all_drawn && !klarna_pos::qr_render(link, f).empty();
    CHECK(all_drawn, "every QR format gives bytes");
    std::vector<std::uint8_t> png = klarna_pos::qr_render(link, klarna_pos::qr_format::png);
    const std::uint8_t signature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    CHECK(png.size() > 8 && std::equal(signature, signature + 8, png.begin()), "PNG signature");
    std::vector<std::uint8_t> svg = klarna_pos::qr_render(link, klarna_pos::qr_format::svg);
    CHECK_CONTAINS(std::string(svg.begin(), svg.end()).c_str(), "<svg", "an SVG document");
    CHECK_CODE(thrown([&] { klarna_pos::qr_render("", klarna_pos::qr_format::png); }).code(),
               KPOS_E_BAD_REQUEST, "an empty text");
    CHECK_CODE(thrown([&] { klarna_pos::qr_render(link, static_cast<klarna_pos::qr_format>(9)); }).code(),
               KPOS_E_INVALID_ARGUMENT, "an unknown format");

    CHECK_STR(klarna_pos::display_text(klarna_pos::status::distributed).c_str(),
              "Scan the QR code with your phone", "display text of distributed");
    CHECK_STR(klarna_pos::display_text(klarna_pos::status::completed).c_str(), "Payment is done",
              "display text of completed");
    CHECK_STR(klarna_pos::display_text(klarna_pos::status::unknown).c_str(),
              "Checking the payment status...", "display text of unknown");
    CHECK_STR(klarna_pos::display_text(klarna_pos::status::accessed, "sv-SE").c_str(),
              "Betalning pågår", "display text in Swedish");
    CHECK_STR(klarna_pos::customer_text(klarna_pos::status::accessed).c_str(),
              "Confirm in the Klarna app", "customer text in English");
    CHECK_STR(klarna_pos::customer_text(klarna_pos::status::completed, "nb-NO").c_str(),
              "Betalingen er godkjent. Takk!", "customer text in Norwegian");
}

/* watch() calls a std::function with each status, in order; unwatch() and the destructor end
 * it; a listener that throws does not reach the library. */
void watch_calls_a_function_per_status()
{
    klarna_pos::client client = test_client();
    std::mutex lock;
    std::condition_variable changed;
    std::vector<klarna_pos::status> seen;
    auto has = [&](klarna_pos::status s) {
        std::unique_lock<std::mutex> guard(lock);
        return changed.wait_for(guard, std::chrono::seconds(20), [&] {
            return std::find(seen.begin(), seen.end(), s) != seen.end();
        });
    };
    {
        klarna_pos::session session = client.create_session(VALID_ORDER);
        CHECK(session.poll() == klarna_pos::status::distributed, "poll before watching");
        session.watch([&](klarna_pos::status s) {
            {
                std::lock_guard<std::mutex> guard(lock);
                seen.push_back(s);
            }
            changed.notify_all();
            if (s == klarna_pos::status::distributed)
                throw std::runtime_error("a listener that throws");
        });
        CHECK(has(klarna_pos::status::distributed), "the current status first");
        CHECK(sim_customer(session.id().c_str(), "approve", "{}") == 200, "customer approves");
        CHECK(has(klarna_pos::status::completed), "completed follows, after a throwing call");
        session.unwatch();
        std::lock_guard<std::mutex> guard(lock);
        CHECK(seen.size() == 2, "two calls: distributed, completed");
    }
    seen.clear();
    klarna_pos::session session = client.create_session(VALID_ORDER);
    session.poll();
    session.watch([&](klarna_pos::status s) {
        std::lock_guard<std::mutex> guard(lock);
        seen.push_back(s);
        changed.notify_all();
    });
    CHECK(has(klarna_pos::status::distributed), "a second session is watched");
    std::string id = session.id();
    session = client.create_session(VALID_ORDER); // frees the watched session
    CHECK(sim_customer(id.c_str(), "approve", "{}") == 200, "customer approves the freed one");
    std::lock_guard<std::mutex> guard(lock);
    CHECK(seen.size() == 1, "no call after the watched session was replaced");
}

} // namespace

int main()
{
    CHECK_STR(klarna_pos::version().c_str(), KPOS_VERSION, "version equals the header's");
    try {
        payment_flow();
        utf8_both_ways();
        errors_carry_their_detail();
        versions_are_compared_by_major();
        error_messages_lose_only_their_prefix_and_suffix();
        timeout_and_cancel_from_another_thread();
        moved_from_objects_are_refused_not_crashed();
        failed_session_reports_its_failure();
        order_management_exactly_once();
        journal_lists_open_sessions();
        health_check_reports_each_step();
        webhook_tokens_are_verified();
        qr_codes_and_display_texts();
        watch_calls_a_function_per_status();
    } catch (const std::exception &e) {
        CHECK(false, e.what());
    }
    return harness_exit();
}
