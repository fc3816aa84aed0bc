/*
 * klarna_pos_hpp.cpp: include/klarna_pos.hpp against the simulator in KLARNA_API_URL: the
 * payment flow through the RAII types, UTF-8 both ways, klarna_pos::error with its detail,
 * timeout, cancel from another thread, moved-from objects. Prints `ok - NAME` per check.
 * Compiled with g++ -std=c++11 -Wall -Wextra -Werror -pthread by tests/c_programs.rs.
 */

#define _POSIX_C_SOURCE 200809L

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <utility>

#include "harness.h"
#include "klarna_pos.hpp"
#include "sim_control.h"

namespace {

std::string config(const std::string &password)
{
    return std::string("{\"api_url\":\"") + getenv("KLARNA_API_URL") + "\",\"username\":\"" +
           getenv("KLARNA_USERNAME") + "\",\"password\":\"" + password +
           "\",\"poll_interval_ms\":100}";
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

void error_json_escapes_are_decoded()
{
    klarna_pos::detail::flat_json json;
    CHECK(json.parse("{\"code\":10,\"message\":\"a\\u00e9\\ud83d\\ude42\\\"\\n\","
                     "\"error_messages\":[\"x\",\"y\"],\"http_status\":null,\"field\":\"f\"}"),
          "flat JSON parses");
    CHECK_STR(json.texts["message"].c_str(), "a\xc3\xa9\xf0\x9f\x99\x82\"\n", "escapes to UTF-8");
    CHECK(json.lists["error_messages"].size() == 2, "array of strings");
    CHECK(json.tokens.count("http_status") == 0 && json.tokens["code"] == "10", "null and numbers");
    CHECK(!klarna_pos::detail::flat_json().parse("[1]"), "not an object");
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

    std::atomic<bool> cancelled(false);
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        session.cancel();
        cancelled = true;
    });
    started = now_ms();
    e = thrown([&] { session.wait(std::chrono::seconds(10)); });
    canceller.join();
    CHECK_CODE(e.code(), KPOS_E_CANCELLED, "cancel from another thread releases wait");
    CHECK(cancelled && now_ms() - started < 5000, "promptly");
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

} // namespace

int main()
{
    CHECK_STR(klarna_pos::version().c_str(), KPOS_VERSION, "version equals the header's");
    try {
        payment_flow();
        utf8_both_ways();
        errors_carry_their_detail();
        error_json_escapes_are_decoded();
        timeout_and_cancel_from_another_thread();
        moved_from_objects_are_refused_not_crashed();
        failed_session_reports_its_failure();
    } catch (const std::exception &e) {
        CHECK(false, e.what());
    }
    return harness_exit();
}
