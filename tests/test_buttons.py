from bot.domain.refusal import Refusal
from bot.ports import MAX_TOKEN_BYTES
from bot.services.buttons import ButtonAction, ButtonCodec


def test_a_token_decodes_to_what_it_was_made_for():
    codec = ButtonCodec(b"s" * 32)
    token = codec.encode("ap", 123456, "a")
    assert codec.decode(token) == ButtonAction("ap", 123456, "a")


def test_tokens_fit_telegrams_callback_data_even_for_large_ids():
    token = ButtonCodec(b"k" * 32).encode("lg", 10**15, "pt-BR")
    assert 1 <= len(token.encode()) <= MAX_TOKEN_BYTES


def test_a_forged_or_altered_token_is_refused():
    codec = ButtonCodec(b"s" * 32)
    token = codec.encode("rp", 5)
    altered = token.replace("rp.5", "ap.5")
    assert isinstance(codec.decode(altered), Refusal)
    assert isinstance(codec.decode("ap.5..AAAAAAAAAAA"), Refusal)
    assert isinstance(codec.decode("garbage"), Refusal)
    assert isinstance(codec.decode(""), Refusal)
    assert isinstance(ButtonCodec(b"other" * 8).decode(token), Refusal)
