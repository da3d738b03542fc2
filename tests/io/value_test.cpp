// io::Value: kinds, ordered dicts with string and int keys, reference semantics, errors.
#include <gtest/gtest.h>

#include "ember.h"

using namespace ember;
using io::Value;

TEST(Value, KindsAndAccess) {
  Value d = io::Dict();
  d["epoch"] = 3;
  d["loss"] = 0.25;
  d["name"] = "run";
  d["w"] = ones({2});
  d["flags"] = io::List{true, Value()};
  d["betas"] = io::Tuple{{0.9, 0.999}};
  EXPECT_EQ(d.at("epoch").to_int(), 3);
  EXPECT_EQ(d.at("loss").to_double(), 0.25);
  EXPECT_EQ(d.at("epoch").to_double(), 3.0);  // int -> float is allowed
  EXPECT_EQ(d.at("name").to_string(), "run");
  EXPECT_EQ(d.at("w").to_tensor().numel(), 2);
  EXPECT_TRUE(d.at("flags").at_index(1).is_none());
  EXPECT_EQ(d.at("betas").tuple()[1].to_double(), 0.999);
  EXPECT_EQ(d.dict().string_keys(), (std::vector<std::string>{"epoch", "loss", "name", "w", "flags", "betas"}));
}

TEST(Value, IntKeysAreDistinctFromStringKeys) {
  io::Dict d;
  d.insert(0, "int zero");
  d.insert("0", "string zero");
  EXPECT_EQ(d.size(), 2u);
  EXPECT_EQ(d.at(0).to_string(), "int zero");
  EXPECT_EQ(d.at("0").to_string(), "string zero");
}

TEST(Value, ErrorsNameWhatWasExpected) {
  Value v = 3;
  try {
    v.to_string();
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("expected a value of type str, found int"), std::string::npos);
  }
  Value d = io::Dict();
  try {
    d.at("missing");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'missing'"), std::string::npos);
  }
}

TEST(Value, ContainersShareLikePython) {
  Value a = io::Dict();
  Value b = a;
  b["x"] = 1;
  EXPECT_TRUE(a.contains("x"));
}

TEST(Value, EraseKeepsOrder) {
  io::Dict d(true);
  for (const char* k : {"a", "b", "c"}) d.insert(k, 1);
  d.erase("b");
  EXPECT_EQ(d.string_keys(), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(d.at("c").to_int(), 1);
  EXPECT_EQ(io::summary(Value(std::move(d))), "{'a': 1, 'c': 1}");
}
