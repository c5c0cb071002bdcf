#include "src/qmp/session.h"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace keel::qmp {
namespace {

using namespace std::chrono_literals;

VersionInfo test_version() { return VersionInfo{7, 2, 0, "keel 0.1.0"}; }

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() {
    add_core_commands(registry_, test_version());
    registry_.add("echo", {{"text", ArgType::string}, {"count", ArgType::integer, false}},
                  [](const Json& args) -> CommandResult {
                    return Json{{"text", args["text"]}, {"count", args.value("count", 1)}};
                  });
    registry_.add("fail", {}, [](const Json&) -> CommandResult { return generic_error("it failed"); });
    registry_.add("throws", {}, [](const Json&) -> CommandResult { throw std::runtime_error("boom"); });
  }

  // Sends one request text, returns the reply parsed.
  Json send(std::string_view text) {
    const std::string reply = session_.handle(Frame{Frame::Kind::value, std::string(text)});
    EXPECT_FALSE(reply.empty());
    EXPECT_EQ(reply.back(), '\n');
    EXPECT_EQ(reply.find('\n'), reply.size() - 1) << "a reply is one line";
    return Json::parse(reply);
  }
  void negotiate() { ASSERT_EQ(send(R"({"execute":"qmp_capabilities"})"), Json::parse(R"({"return":{}})")); }

  static Json error(std::string_view error_class, std::string_view desc) {
    return Json{{"error", {{"class", error_class}, {"desc", desc}}}};
  }

  CommandRegistry registry_;
  Session session_{registry_, test_version()};
};

TEST_F(SessionTest, GreetingOffersNoCapabilities) {
  EXPECT_EQ(session_.greeting(),
            "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \"package\": "
            "\"keel 0.1.0\"}, \"capabilities\": []}}\n");
}

TEST_F(SessionTest, OnlyQmpCapabilitiesBeforeNegotiation) {
  EXPECT_FALSE(session_.command_mode());
  const Json expecting = error("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
  EXPECT_EQ(send(R"({"execute":"query-version"})"), expecting);
  EXPECT_EQ(send(R"({"execute":"no-such-command"})"), expecting);
  negotiate();
  EXPECT_TRUE(session_.command_mode());
  EXPECT_EQ(send(R"({"execute":"query-version"})")["return"]["qemu"]["major"], 7);
}

TEST_F(SessionTest, QmpCapabilitiesTwiceIsRefused) {
  negotiate();
  EXPECT_EQ(send(R"({"execute":"qmp_capabilities"})"),
            error("CommandNotFound", "Capabilities negotiation is already complete, command ignored"));
  EXPECT_TRUE(session_.command_mode());
}

TEST_F(SessionTest, QmpCapabilitiesRejectsCapabilitiesNotOffered) {
  EXPECT_EQ(send(R"({"execute":"qmp_capabilities","arguments":{"enable":["oob"]}})"),
            error("GenericError", "Capability oob not available"));
  EXPECT_EQ(send(R"({"execute":"qmp_capabilities","arguments":{"enable":["foo"]}})"),
            error("GenericError", "Parameter 'enable[0]' does not accept value 'foo'"));
  EXPECT_EQ(send(R"({"execute":"qmp_capabilities","arguments":{"enable":[1]}})"),
            error("GenericError", "Invalid parameter type for 'enable[0]', expected: string"));
  EXPECT_EQ(send(R"({"execute":"qmp_capabilities","arguments":{"enable":"oob"}})"),
            error("GenericError", "Invalid parameter type for 'enable', expected: array"));
  EXPECT_FALSE(session_.command_mode());
  EXPECT_EQ(send(R"({"execute":"qmp_capabilities","arguments":{"enable":[]}})"), Json::parse(R"({"return":{}})"));
  EXPECT_TRUE(session_.command_mode());
}

TEST_F(SessionTest, IdIsEchoedExactly) {
  Json reply = send(R"({"execute":"qmp_capabilities","id":{"z":[1,2.5,"x"],"a":null}})");
  EXPECT_EQ(reply["id"].dump(), R"({"z":[1,2.5,"x"],"a":null})");  // member order kept
  EXPECT_EQ(send(R"({"id":"s","execute":"nope"})")["id"], "s");
  EXPECT_EQ(send(R"({"execute":"query-version","id":-3})")["id"], -3);
  EXPECT_EQ(send(R"({"execute":"query-version","id":1,"x":2})"),
            Json::parse(R"({"id":1,"error":{"class":"GenericError","desc":"QMP input member 'x' is unexpected"}})"));
  EXPECT_FALSE(send(R"({"execute":"query-version"})").contains("id"));
}

TEST_F(SessionTest, ReplyIsWrittenLikeQemu) {
  const std::string reply = session_.handle(Frame{Frame::Kind::value, R"({"execute":"qmp_capabilities","id":"x"})"});
  EXPECT_EQ(reply, "{\"return\": {}, \"id\": \"x\"}\n");
  const std::string failure = session_.handle(Frame{Frame::Kind::value, R"({"execute":"foo","id":1})"});
  EXPECT_EQ(failure,
            "{\"id\": 1, \"error\": {\"class\": \"CommandNotFound\", "
            "\"desc\": \"The command foo has not been found\"}}\n");
}

TEST_F(SessionTest, MalformedRequestsGetQemusErrors) {
  negotiate();
  const char* must_be_object = "QMP input must be a JSON object";
  EXPECT_EQ(send("[1]"), error("GenericError", must_be_object));
  EXPECT_EQ(send("42"), error("GenericError", must_be_object));
  EXPECT_EQ(send("\"str\""), error("GenericError", must_be_object));
  EXPECT_EQ(send(R"({"execute":1})"), error("GenericError", "QMP input member 'execute' must be a string"));
  EXPECT_EQ(send(R"({"execute":"query-version","arguments":[]})"),
            error("GenericError", "QMP input member 'arguments' must be an object"));
  EXPECT_EQ(send(R"({"arguments":{}})"), error("GenericError", "QMP input lacks member 'execute'"));
  EXPECT_EQ(send(R"({"exec-oob":"query-version"})"),
            error("GenericError", "QMP input member 'exec-oob' is unexpected"));
}

TEST_F(SessionTest, ParseErrorsAreGenericErrors) {
  for (std::string_view bad : {"{bad}", "abc", "{\"a\" 1}", "{\"execute\":\"x\",}", "{\"a\":\"\x01\"}",
                               "{\"a\":\"\xff\"}", "{]"}) {
    Json reply = send(bad);
    EXPECT_EQ(reply["error"]["class"], "GenericError") << bad;
    EXPECT_TRUE(reply["error"]["desc"].get<std::string>().starts_with("JSON parse error, ")) << bad;
    EXPECT_FALSE(reply.contains("id"));
  }
}

TEST_F(SessionTest, FramerErrorsBecomeReplies) {
  const std::string reply = session_.handle(Frame{Frame::Kind::error, "JSON token size limit exceeded"});
  EXPECT_EQ(Json::parse(reply), error("GenericError", "JSON token size limit exceeded"));
}

TEST_F(SessionTest, UnknownCommand) {
  negotiate();
  EXPECT_EQ(send(R"({"execute":"foo"})"), error("CommandNotFound", "The command foo has not been found"));
}

TEST_F(SessionTest, ArgumentsAreCheckedBeforeTheHandler) {
  negotiate();
  EXPECT_EQ(send(R"({"execute":"echo","arguments":{"text":"hi"}})")["return"],
            Json::parse(R"({"text":"hi","count":1})"));
  EXPECT_EQ(send(R"({"execute":"echo","arguments":{"text":"hi","count":3}})")["return"]["count"], 3);
  EXPECT_EQ(send(R"({"execute":"echo"})"), error("GenericError", "Parameter 'text' is missing"));
  EXPECT_EQ(send(R"({"execute":"echo","arguments":{"text":1}})"),
            error("GenericError", "Invalid parameter type for 'text', expected: string"));
  EXPECT_EQ(send(R"({"execute":"echo","arguments":{"text":"a","count":1.5}})"),
            error("GenericError", "Invalid parameter type for 'count', expected: integer"));
  EXPECT_EQ(send(R"({"execute":"echo","arguments":{"text":"a","extra":true}})"),
            error("GenericError", "Parameter 'extra' is unexpected"));
  EXPECT_EQ(send(R"({"execute":"query-version","arguments":{"x":1}})"),
            error("GenericError", "Parameter 'x' is unexpected"));
}

TEST_F(SessionTest, HandlerErrorsAndExceptions) {
  negotiate();
  EXPECT_EQ(send(R"({"execute":"fail","id":9})"),
            Json::parse(R"({"id":9,"error":{"class":"GenericError","desc":"it failed"}})"));
  Json reply = send(R"({"execute":"throws"})");
  EXPECT_EQ(reply["error"]["class"], "GenericError");
  EXPECT_EQ(reply["error"]["desc"], "Command throws failed: boom");
  EXPECT_EQ(send(R"({"execute":"query-version"})")["return"]["package"], "keel 0.1.0");
}

TEST_F(SessionTest, QueryCommandsListsTheRegistry) {
  negotiate();
  Json names = Json::array();
  const Json reply = send(R"({"execute":"query-commands"})");
  for (const Json& entry : reply["return"]) names.push_back(entry["name"]);
  EXPECT_EQ(names, Json::parse(R"(["qmp_capabilities","query-version","query-commands","echo","fail","throws"])"));
}

TEST(CommandRegistry, RejectsDuplicatesAndEmptyNames) {
  CommandRegistry registry;
  auto ok = [](const Json&) -> CommandResult { return Json::object(); };
  registry.add("a", {}, ok);
  EXPECT_THROW(registry.add("a", {}, ok), std::invalid_argument);
  EXPECT_THROW(registry.add("", {}, ok), std::invalid_argument);
  EXPECT_THROW(registry.add("b", {}, nullptr), std::invalid_argument);
  EXPECT_NE(registry.find("a"), nullptr);
  EXPECT_EQ(registry.find("b"), nullptr);
}

TEST(KeelVersion, ComesFromTheBuild) {
  const VersionInfo version = keel_version_info();
  EXPECT_EQ(version.package, std::string("keel ") + KEEL_VERSION);
  EXPECT_EQ(std::to_string(version.major) + "." + std::to_string(version.minor) + "." + std::to_string(version.micro),
            KEEL_VERSION);
}

TEST(Events, FormatLikeQemu) {
  EXPECT_EQ(format_event("STOP", Json(), 1700000000s + 123456789ns),
            "{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 123456}, \"event\": \"STOP\"}\n");
  EXPECT_EQ(format_event("SHUTDOWN", Json{{"guest", true}, {"reason", "guest-shutdown"}}, 5s),
            "{\"timestamp\": {\"seconds\": 5, \"microseconds\": 0}, \"event\": \"SHUTDOWN\", \"data\": "
            "{\"guest\": true, \"reason\": \"guest-shutdown\"}}\n");
}

TEST(WireText, EscapesNonAsciiAndReplacesInvalidUtf8) {
  EXPECT_EQ(to_wire_text(Json("é")), "\"\\u00e9\"");
  EXPECT_EQ(to_wire_text(Json(std::string("a\xff"))), "\"a\\ufffd\"");
  EXPECT_EQ(to_wire_text(Json::parse(R"({"a":[1,{"b":null}],"c":"\n"})")),
            "{\"a\": [1, {\"b\": null}], \"c\": \"\\n\"}");
}

}  // namespace
}  // namespace keel::qmp
