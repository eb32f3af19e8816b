// WeChat official-account callbacks, inbound side: the signature check, the plaintext-mode XML
// message, the passive text reply and the customer message a callback becomes. Pure functions;
// safe from any thread.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace sb::channels {

// hex(sha1(concat(sort([token, timestamp, nonce])))) in lowercase: WeChat's callback signature.
std::string wechat_signature(std::string_view token, std::string_view timestamp,
                             std::string_view nonce);
// Whether `signature` (hex, either case) is the callback's signature, compared in constant time.
// False for an empty token: an unconfigured account accepts nothing.
bool wechat_signature_valid(std::string_view token, std::string_view timestamp,
                            std::string_view nonce, std::string_view signature);

// One callback message of WeChat's plaintext mode (standard messages and event pushes).
struct wechat_message {
  std::string to_user, from_user;  // ToUserName (the official account), FromUserName (openid)
  int64_t create_time = 0;         // CreateTime (seconds)
  std::string msg_type;  // MsgType: text, image, voice, video, shortvideo, location, link, event
  std::string msg_id;    // MsgId (messages; empty for events)
  std::string content;   // text
  std::string pic_url, media_id, format, recognition, thumb_media_id;  // image/voice/video
  std::string location_x, location_y, scale, label;                    // location
  std::string title, description, url;                                 // link
  std::string event, event_key;  // event: subscribe, unsubscribe, SCAN, LOCATION, CLICK, VIEW …
};

// code: "malformed_xml" | "missing_field" | "invalid_field".
struct xml_error {
  std::string code;
  std::string message;
};

// Parses an <xml>…</xml> callback body. A field's text may be character data, CDATA sections or
// both (whitespace-only text between sections is formatting and dropped); the five predefined
// entities and character references are decoded; unknown elements and attributes are ignored.
// Refused:
//  - malformed_xml: not well-formed (a NUL byte, an undefined entity or a reference to a
//    character XML forbids included), a DOCTYPE, text beside the root, a root other than <xml>;
//  - missing_field: no ToUserName, FromUserName, CreateTime or MsgType; a text message without
//    Content; an event without Event;
//  - invalid_field: a known field given twice or holding elements, a field that is not valid
//    UTF-8, an empty ToUserName or MsgType, a FromUserName that makes no valid principal
//    (a non-empty openid with "wx:" + openid a codec::valid_id), a CreateTime that is not a
//    non-negative decimal int64, a MsgId that is not 1..20 decimal digits.
// Linear in the input (pugixml parses without recursion); the caller bounds the size.
std::variant<wechat_message, xml_error> parse_wechat_message(std::string_view xml);

// The passive text reply, fields in CDATA (a "]]>" inside is split across sections, so the reply
// parses back to the same strings). The strings must not hold NUL (chat text never does).
std::string wechat_text_reply(std::string_view to_user, std::string_view from_user,
                              int64_t create_time, std::string_view content);

// How a callback message reads as a customer message in a conversation.
struct inbound_content {
  // The MsgType: "text", "image", "voice", "video", "shortvideo", "location", "link", or an
  // unknown type as given.
  std::string type;
  // Text messages: Content unchanged (the caller checks it as chat text). Others: what an agent
  // sees, "[<type>]" followed by the type's readable fields ("[voice] <Recognition>",
  // "[location] <Label> (<x>,<y>)", "[link] <Title> <Url>"); always valid chat text: invalid
  // UTF-8 and control characters other than \n and \t become U+FFFD and spaces, and the text is
  // cut to placeholder_max_bytes on a character boundary.
  std::string text;
  // A JSON object of the type's fields for clients, e.g. {"pic_url":…,"media_id":…}; every field
  // of the type is present, empty when absent, invalid UTF-8 replaced by U+FFFD. "{}" for
  // unknown types, "" for text.
  std::string extra_json;
};
inline constexpr size_t placeholder_max_bytes = 4096;

// nullopt for events (subscribe, unsubscribe, CLICK, …): they are not customer messages.
std::optional<inbound_content> wechat_content(const wechat_message& m);

}  // namespace sb::channels
