"""The languages RapidOCR's packaged recogniser reads (``rapid_doubt.RAPIDOCR_LANGUAGES``): a hint naming one of them
gets no "cannot read" warning. Before, only English, German, French, Spanish and Chinese were listed, so that Italian,
Polish, Czech... read letter for letter came with "This server cannot read 'it'". Each language's letters are checked
against the recogniser's own dictionary (the model's metadata); lines rendered here are read by the real engines."""

from __future__ import annotations

from pathlib import Path

import onnxruntime
import pytest
import rapidocr

from inference.backends.ocr.rapid_doubt import LATIN_LANGUAGES, RAPIDOCR_LANGUAGES
from tests.helpers import cer, dejavu, render_with

# each language's letters beyond a-z (small; their capitals are checked too)
LETTERS = {
    "en": "", "de": "äöüß", "fr": "àâæçéèêëîïôœùûüÿ", "es": "áéíñóúü", "it": "àèéìíîòóùú",
    "pt": "áâãàçéêíóôõú", "nl": "ëïé", "ca": "àçèéíïòóúü·", "gl": "áéíñóúü", "eu": "ñü", "pl": "ąćęłńóśźż",
    "cs": "áčďéěíňóřšťúůýž", "sk": "áäčďéíĺľňóôŕšťúýž", "sl": "čšž", "hr": "čćđšž", "bs": "čćđšž", "sv": "åäö",
    "da": "æøå", "no": "æøå", "nb": "æøå", "fi": "äöå", "et": "õäöüšž", "lv": "āčēģīķļņšūž", "lt": "ąčęėįšųūž",
    "hu": "áéíóöőúüű", "ro": "ăâîșț", "tr": "çğıöşü", "is": "áðéíóúýþæö", "ga": "áéíóú", "sq": "çë", "af": "êëîïôû",
    "id": "", "ms": "", "sw": "", "tl": "ñ", "la": "", "mt": "ċġħż", "cy": "âêîôûŵŷ",
}  # fmt: skip
KANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんアイウエオカキクケコンー"
LINES = {
    "it": ["Però la città è più bella così", "Perché è già lunedì"],
    "pl": ["Zażółć gęślą jaźń w piątek", "Łódź leży nad rzeką"],
    "cs": ["Příliš žluťoučký kůň úpěl", "ďábelské ódy"],
    "pt": ["Não há razão para preocupação", "Ação e coração"],
    "tr": ["Güneşli bir öğleden sonra", "Çiçekler ışıl ışıl"],
}


def dictionary() -> set[str]:
    models = sorted((Path(rapidocr.__file__).parent / "models").glob("*rec*.onnx"))
    assert len(models) == 1, models  # (the one the package ships, which the engines load)
    session = onnxruntime.InferenceSession(str(models[0]), providers=["CPUExecutionProvider"])
    return set(session.get_modelmeta().custom_metadata_map["character"].split("\n"))


def test_every_language_said_to_be_read_has_its_letters_in_the_recognisers_dictionary():
    chars = dictionary()
    assert set(LATIN_LANGUAGES) == set(LETTERS)  # (a language added there is checked here)
    missing = {code: [ch for ch in letters + letters.upper() if ch not in chars] for code, letters in LETTERS.items()}
    assert not any(missing.values()), {code: found for code, found in missing.items() if found}
    assert all(ch in chars for ch in KANA) and {"ja", "jpn"} <= RAPIDOCR_LANGUAGES
    assert "가" not in chars and "ko" not in RAPIDOCR_LANGUAGES  # (no hangul: Korean is still said to be unread)
    assert "ệ" not in chars and "vi" not in RAPIDOCR_LANGUAGES  # (Vietnamese lacks most of its tone marks: not said to be read)


@pytest.mark.parametrize("model", ["rapidocr", "embedded"])
def test_a_hint_naming_a_language_in_latin_letters_gets_its_text_and_no_warning(service, model):
    font = dejavu("DejaVuSans.ttf", 32)
    for code, lines in LINES.items():
        image = render_with(font, lines)
        for hint in (code, LATIN_LANGUAGES[code]):
            result = service.ocr(image, model, hint)
            assert result.warnings == [], (model, hint, result.warnings)
            assert cer(result.text, "\n".join(lines)) <= 0.08, (model, hint, result.text)
    korean = service.ocr(render_with(font, LINES["it"]), model, "ko")
    assert len(korean.warnings) == 1 and "cannot read 'ko'" in korean.warnings[0], korean.warnings
