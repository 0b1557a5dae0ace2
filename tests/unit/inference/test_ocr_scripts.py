"""The embedded engine says only what is true: mixed Russian and English lines read in their own scripts, no
warning on clean Latin pages and receipts or on a picture without text, and a language or script it cannot read
told to the user plainly (what to install goes to the operator's log). Images are rendered here."""

import logging
import threading

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from inference import InferenceService
from inference.backends.ocr.script_check import may_be_other_script, read_as_look_alikes, reads_other_script, text_shaped
from inference.backends.ocr.tess_words import dictionary
from inference.backends.ocr.tesseract import Word, find_tessdata, installed_languages
from tests.helpers import AEON_RECEIPT, HAS_TESSERACT, aeon_receipt, cer, dejavu, render_with
from tests.polling import loaded_backend, unload_all

MIXED = [
    "Счёт № 5821 от 12 марта",
    "Invoice 5821 dated March 12",
    "Оплата по договору № 17 от 3 мая",
    "Contact: Ivan Petrov, office 204",
    "Итого к оплате: 12 400 руб.",
    "Order ID 77812 доставка завтра",
    "Москва, ул. Тверская, д. 7",
    "Paid by card ending 4417",
    "Товар: Printer paper A4",
    "Количество: 4 коробки",
    "Total amount due: 318.40 USD",
    "Спасибо за покупку!",
    "Please pay within thirty days.",
    "Адрес доставки: Невский проспект",
    "Цена за единицу 23.50",
    "Tax Code: A",
    "Менеджер: Анна Смирнова",
    "Phone +7 812 555 0199",
    "Дата оплаты 15 марта 2026 года",
    "Номер заказа 4471",
]
LATIN_PAGES = {
    "en": ["Invoice number 4471 dated March 12", "Total amount due: 318.40 USD", "Please pay within thirty days."],
    "fr": ["Facture numéro 4471 du 12 mars", "Montant total dû : 318,40 EUR", "Reçu à Genève, merci beaucoup !"],
    "de": ["Rechnung Nr. 4471 vom 12. März", "Gesamtbetrag fällig: 318,40 EUR", "Bitte zahlen Sie innerhalb von 30 Tagen."],
}


def needs_russian():
    tessdata = find_tessdata("auto")
    if not HAS_TESSERACT or tessdata is None or "rus" not in installed_languages(tessdata):
        pytest.skip("Tesseract with its Russian data is not installed (.ci/run installs tesseract-ocr-rus)")


def test_mixed_russian_and_english_lines_are_read_in_their_own_scripts(service):
    needs_russian()
    image = render_with(dejavu("DejaVuSans.ttf", 30), MIXED)
    for hint in (None, "en+ru"):
        result = service.ocr(image, "embedded", hint)
        assert cer(result.text, "\n".join(MIXED)) <= 0.05, (hint, result.text)
        read = result.text.splitlines()
        assert len(read) == len(MIXED) and all(cer(a, b) <= 0.15 for a, b in zip(read, MIXED, strict=True)), read  # each line
        assert result.warnings == [], result.warnings


def test_clean_latin_pages_and_a_receipt_get_no_warning(service):
    faces = {"en": "DejaVuSerif.ttf", "fr": "DejaVuSans.ttf", "de": "DejaVuSansMono.ttf"}
    for language, lines in LATIN_PAGES.items():
        result = service.ocr(render_with(dejavu(faces[language], 28), lines), "embedded")
        assert result.warnings == [], (language, result.warnings)
        assert cer(result.text, "\n".join(lines)) <= 0.05, (language, result.text)
        assert not any("\u0400" <= ch <= "\u04ff" for ch in result.text), result.text  # no Cyrillic look-alikes
        assert all(word in result.text for line in lines for word in line.split() if not word.isascii()), result.text  # accents
    result = service.ocr(aeon_receipt(dejavu("DejaVuSansMono.ttf", 24)), "embedded")
    assert result.warnings == [], result.warnings
    assert cer(result.text, "\n".join(" ".join(p for p in row if p) for row in AEON_RECEIPT)) <= 0.08, result.text


def test_formulas_on_a_latin_page_are_not_read_as_cyrillic(service):
    needs_russian()  # (without a hint the lines RapidOCR garbles are read again with Russian and English)
    pages = [
        ("DejaVuSerif.ttf", ["Maxwell's equations in free space", "∇·B = 0", "The divergence of the field is zero."]),
        ("DejaVuSans.ttf", ["∇·B=0", "∂E", "∑", "∫ f(x) dx = F(b) − F(a)"]),
    ]
    for face, lines in pages:
        result = service.ocr(render_with(dejavu(face, 30), lines), "embedded")
        assert not any("\u0400" <= ch <= "\u04ff" for ch in result.text), result.text  # ('У.В =0', 'f(x) ах')
    assert "f(x) dx" in result.text, result.text


def test_a_russian_compound_in_no_dictionary_is_still_read_in_cyrillic(service):
    needs_russian()  # (a line RapidOCR garbles, whose Russian reading has a word in no dictionary: 'Экспресс-доставка')
    lines = ["Invoice 5821 dated March 12", "Экспресс-доставка: завтра", "Total amount due: 318.40 USD"]
    for face in ("DejaVuSans.ttf", "DejaVuSerif.ttf"):
        result = service.ocr(render_with(dejavu(face, 26), lines), "embedded")
        assert "Экспресс-доставка: завтра" in result.text, (face, result.text)


def wavy(image: Image.Image, amplitude: int, period: int) -> Image.Image:
    """The page's columns and rows shifted along sine waves and blurred: Latin text that both engines read poorly (as
    handwriting), with no sign of another script."""
    pixels = np.asarray(image.convert("L"))
    columns = np.stack(
        [np.roll(pixels[:, x], round(amplitude * np.sin(2 * np.pi * x / period))) for x in range(pixels.shape[1])], 1
    )
    rows = np.stack(
        [np.roll(row, round(0.6 * amplitude * np.sin(2 * np.pi * y / (0.7 * period)))) for y, row in enumerate(columns)]
    )
    return Image.fromarray(rows).filter(ImageFilter.GaussianBlur(1.5)).convert("RGB")


def test_latin_read_poorly_is_not_said_to_be_in_a_script_this_server_cannot_read(service):
    needs_russian()  # (the check reads with Russian and English: without Russian there is nothing to check)
    lines = ["Master bath seven and a quarter", "Laundry four and three quarters", "Pantry and guest bath"]
    lines += ["Mud room utility closet", "Kitchen pantry thirty inches"]
    result = service.ocr(wavy(render_with(dejavu("DejaVuSans.ttf", 34), lines), 4, 9), "embedded")
    assert len(result.lines) == 5 and min(line.confidence for line in result.lines) < 0.75  # (read poorly...)
    assert result.warnings == [], result.warnings  # (...but with English words: a line was said to be in another script)
    assert all(line.text.isascii() for line in result.lines if line.engine == "tesseract")
    sizes = ["Master bath seven and a quarter", '- 7 1/4 - 30"', "Laundry four and three quarters", '- 4 3/4 - 36"']
    sizes += ["Pantry and guest bath", '- 8 1/4 - 24"']  # (a builder's notes: sizes read as '2 8 114 = 24"')
    result = service.ocr(wavy(render_with(dejavu("DejaVuSans.ttf", 34), sizes), 4, 8), "embedded")
    assert len(result.lines) >= 5 and result.warnings == [], result.warnings  # (3 lines were said to be another script)


def test_a_picture_without_text_has_no_text_and_no_warning(service):
    image = Image.new("RGB", (640, 480), "white")
    draw = ImageDraw.Draw(image)
    for i in range(6):
        draw.ellipse((60 + 90 * i, 200, 80 + 90 * i, 220), fill="black")
    draw.line((50, 300, 600, 300), fill="black", width=3)
    draw.rectangle((30, 30, 610, 450), outline="black", width=2)
    result = service.ocr(image, "embedded")
    assert (result.text, result.warnings) == ("", []), (result.text, result.warnings)


@pytest.fixture(scope="module")
def english_only(settings, tmp_path_factory):
    """The CPU engines with Tesseract's English data alone (a folder of its own), loaded fresh (their log says)."""
    tessdata = find_tessdata("auto")
    if not HAS_TESSERACT or tessdata is None:
        pytest.skip("Tesseract is not installed (.ci/run installs it)")
    folder = tmp_path_factory.mktemp("tessdata")
    (folder / "eng.traineddata").symlink_to(tessdata / "eng.traineddata")
    config = settings.model_copy(deep=True)
    for entry in config.models:
        if entry.backend in ("embedded", "tesseract"):
            entry.options["tessdata"] = str(folder)
    service = InferenceService(config)
    yield service
    unload_all(service.manager)


def test_a_language_without_its_data_is_named_and_the_operator_told_what_to_install(english_only, caplog):
    image = render_with(dejavu("DejaVuSans.ttf", 30), ["Total amount due: 318.40 USD"])
    with caplog.at_level(logging.WARNING):
        unknown = english_only.ocr(image, "embedded", "klingon")
        russian = english_only.ocr(image, "embedded", "ru")
    assert "318.40" in unknown.text and "318.40" in russian.text  # still read
    assert unknown.warnings == [
        "This server cannot read 'klingon'; the text is RapidOCR's reading in Latin and Chinese characters."
    ]
    assert russian.warnings == [
        "This server cannot read Russian; the text is RapidOCR's reading in Latin and Chinese characters."
    ]
    assert "apt-get install tesseract-ocr-rus" in caplog.text  # Tesseract is here: only the language's data
    assert not any("apt-get" in w for w in unknown.warnings + russian.warnings)


def test_a_script_no_installed_engine_reads_is_said_and_the_advice_logged(english_only, caplog):
    font = dejavu("DejaVuSans.ttf", 30)
    georgian = ["საქართველო არის ქვეყანა", "თბილისი დედაქალაქია", "Total amount due: 318.40 USD"]
    with caplog.at_level(logging.WARNING):
        result = english_only.ocr(render_with(font, georgian), "embedded")
    assert "318.40" in result.text
    assert result.warnings == ["2 line(s) seem to be in a script this server cannot read; their text is missing or a guess."]
    assert "apt-get install tesseract-ocr-LANG" in caplog.text


def test_a_script_rapidocr_reads_as_latin_junk_is_said_too(english_only):
    lines = ["Հայաստանը գեղեցիկ երկիր է", "Total amount due: 318.40 USD", "Invoice number 5821 of March 12"]  # (Armenian)
    result = english_only.ocr(render_with(dejavu("DejaVuSans.ttf", 30), lines), "embedded")
    assert "318.40" in result.text and "5821" in result.text
    assert result.warnings == ["1 line(s) seem to be in a script this server cannot read; their text is missing or a guess."]


def test_a_script_rapidocr_writes_surely_but_no_engine_here_reads_is_said_too(english_only):
    """Greek: RapidOCR's dictionary has its small letters, so it reads a Greek line surely and lossily ("αλα σα" for
    "Καλημέρα σας"), with no sign the script check looks for; no installed Tesseract language reads Greek either."""
    lines = ["Καλημέρα σας, αυτή είναι μια δοκιμή.", "Η συνάντηση θα γίνει την Πέμπτη.", "Contact: office@example.com"]
    result = english_only.ocr(render_with(dejavu("DejaVuSans.ttf", 30), lines), "embedded")
    assert "office@example.com" in result.text
    assert result.warnings == ["2 line(s) seem to be in a script this server cannot read; their text is missing or a guess."]


def test_a_formulas_greek_letters_are_no_line_in_an_unread_script():
    from inference.backends.ocr.unread_scripts import in_unread_script

    for formula in ("α + β = γ", "sin θ + Δt", "f(x) = αx + βx", "Ω Φ Ψ αβγ", "ζ(s) = Σ 1/n^s"):
        assert not in_unread_script(formula, {"eng"}), formula
    assert in_unread_script("αλα σα, αυτ εναι ια ι.", {"eng"}) and not in_unread_script("αλα σα, αυτ εναι ια ι.", {"ell"})
    assert not in_unread_script("Привет как дела", {"eng"}) and not in_unread_script("plain English text", {"eng"})
    for line in ("भारत सरकार की योजना", "สวัสดีครับ ผมชื่อ"):  # (vowel signs are marks, not letters, to isalpha)
        assert in_unread_script(line, {"eng"}), line


def words(*items) -> list[Word]:
    return [Word(text, confidence, (0, 0, 1, 1), in_dictionary) for text, confidence, in_dictionary in items]


def test_another_script_is_told_by_the_dictionaries_not_by_the_confidence():
    russian = words(("Счёт", 0.96, True), ("№", 0.97, True), ("5821", 0.96, False), ("от", 0.95, True), ("марта", 0.97, True))
    read_in_english = words(("Cuyét", 0.52, False), ("Ne", 0.95, True), ("5821", 0.96, False), ("oT", 0.91, True))
    assert reads_other_script(russian, lambda: read_in_english)
    latin = words(("Paid", 0.96, True), ("by", 0.96, True), ("сага", 0.93, True), ("4417", 0.97, False))
    card = words(("Paid", 0.96, True), ("by", 0.96, True), ("card", 0.93, True), ("4417", 0.97, False))
    assert not reads_other_script(latin, lambda: card)  # as many letters read surely in English: it stays Latin
    capitals = words(("CHANGE", 0.96, True), ("КН", 0.9, True))
    assert not reads_other_script(capitals, lambda: pytest.fail("no English reading needed"))  # too little to go on
    receipt = words(("Тан", 0.91, True), ("invoice", 0.95, True))  # ("TAX INVOICE" on a till receipt)
    assert not reads_other_script(receipt, lambda: pytest.fail("no English reading needed"))  # (a short word: too little)


def test_a_cyrillic_word_read_letter_for_look_alike_letter_is_in_that_script():
    mixed = words(("Товар:", 0.93, True), ("Printer", 0.96, True), ("paper", 0.91, True), ("A4", 0.91, False))
    assert read_as_look_alikes(mixed, "ToBap: Printer paper A4")
    assert read_as_look_alikes(words(("Москва,", 0.95, True)), "MockBa, yn. 7")
    assert read_as_look_alikes(mixed, "Toßap: Printer paper A4")  # (в read as ß)
    assert read_as_look_alikes(mixed, "Tobp: Printer paper A4")  # (a letter dropped, in a word of five)
    assert not read_as_look_alikes(mixed, "Toap: Printer paper A4")  # (...but what is left is drawn alike in Latin)
    assert not read_as_look_alikes(words(("Коса", 0.95, True)), "Mehmet Koca")  # (Turkish: drawn alike, nothing shown)
    assert not read_as_look_alikes(words(("ТАРА", 0.95, True)), "Kebap TAPA 2,00")
    assert not read_as_look_alikes(words(("Веси", 0.9, True)), "Bes Genève")  # (...not in a shorter one)
    assert not read_as_look_alikes(mixed, "Tassel: Printer paper A4")  # (not what RapidOCR read)
    assert not read_as_look_alikes(words(("Товар:", 0.93, False)), "ToBap:")  # (in no dictionary)
    assert not read_as_look_alikes(words(("Товар:", 0.4, True)), "ToBap:")  # (read unsurely)
    assert not read_as_look_alikes(words(("ТАХ", 0.95, True)), "TAX INVOICE")  # (too short to tell)
    assert not read_as_look_alikes(words(("Веси", 0.9, True), ("а", 0.9, True)), "Reçu à Genève")  # (not look-alikes)
    assert not read_as_look_alikes(words(("СОМА", 0.95, True)), "COMA", english=frozenset({"coma"}))  # (English has it)


def test_english_words_that_look_like_cyrillic_read_as_latin_are_no_sign_of_it():
    tessdata = find_tessdata("auto")
    if not HAS_TESSERACT or tessdata is None or "eng" not in installed_languages(tessdata):
        pytest.skip("Tesseract's English data is not installed (.ci/run installs tesseract-ocr-eng)")
    english = dictionary(tessdata, "eng")
    # (olmOCR-Bench's pages: each was read again with Russian and English, or read whole, for nothing)
    for line in ["We come once more to the Tobacco", "acquired Arm from SoftBank. The", "code from StarCoder", "century.23 The"]:
        assert may_be_other_script(line) and not may_be_other_script(line, english), line
    assert not may_be_other_script("bertzpoet@yahoo.com www.tobaccocontrol.com")  # (addresses: no sign of a script)
    for formula in [
        "eiπ + 1 = 0",
        "Then λg = λg′.",
        "{λg}g∈R where",
        "ρ",
        "ε0",
        "∇×B = μ0J + μ0ε0",
    ]:  # (Greek letters in formulas)
        assert not may_be_other_script(formula), formula
    assert may_be_other_script("τoβap") and may_be_other_script("Here we recall that ψx, is")  # (Greek in a word)
    # RapidOCR's readings of Russian lines keep their signs: words no English dictionary has, digits in words, "oT"
    for line in ["Cuët N 5821 oT 12 mapta", "Cymma k onnate", "3aka3", "ToBap", "Hoep Ham", "Ham cepBuc", "CepBuc", "aToM"]:
        assert may_be_other_script(line, english), line
    assert may_be_other_script("BecoBoro", english)  # (весового: its parts are names in English's list, not words)
    assert not may_be_other_script("Ham", english)  # (a short word alone is English: "Ham" for Нам goes unchecked)


def test_only_a_crop_shaped_like_text_can_be_an_unread_line():
    line = render_with(dejavu("DejaVuSans.ttf", 30), ["საქართველო არის ქვეყანა"])
    assert text_shaped(np.asarray(line))
    rule = Image.new("RGB", (600, 30), "white")
    ImageDraw.Draw(rule).line((5, 15, 595, 15), fill="black", width=3)
    dots = Image.new("RGB", (600, 30), "white")
    for i in range(6):
        ImageDraw.Draw(dots).ellipse((10 + 100 * i, 5, 30 + 100 * i, 25), fill="black")
    assert not text_shaped(np.asarray(rule)) and not text_shaped(np.asarray(dots))
    assert not text_shaped(np.asarray(Image.new("RGB", (600, 30), "white")))


def test_models_tell_the_operator_what_the_engine_reads_and_how_to_read_more(client, english_only):
    listing = client.get("/models")
    assert listing.status_code == 200
    embedded = next(m for m in listing.json()["available"] + listing.json()["unavailable"] if m["id"] == "embedded")
    assert "apt-get install tesseract-ocr" in embedded["note"], embedded
    only_english = next(m for m in english_only.list_models().available if m.id == "embedded")
    assert only_english.note == (
        "reads Latin and Chinese, and with Tesseract: eng; an administrator can add more: apt-get install tesseract-ocr-LANG"
    )


def test_tesseract_without_a_language_s_data_says_so_and_logs_what_to_install(english_only, caplog):
    from inference.errors import BadInput

    with caplog.at_level(logging.WARNING), pytest.raises(BadInput) as refused:
        english_only.ocr(render_with(dejavu("DejaVuSans.ttf", 30), ["Total"]), "tesseract", "uk")
    assert str(refused.value) == "Tesseract has no data for Ukrainian on this server (it has: eng)."
    assert "apt-get install tesseract-ocr-ukr" in caplog.text


def test_a_lone_requests_lines_are_re_read_by_tesseract_on_every_engine_in_order(service):
    needs_russian()
    lines = [f"{MIXED[0]} {n}" for n in range(10, 18)]
    page = render_with(dejavu("DejaVuSans.ttf", 30), lines)
    service.load_model("embedded")
    backend = loaded_backend(service.manager, "embedded")
    tesseract = backend._tesseract
    threads, read_line = set(), tesseract.read_line

    def watched(image, lang, **options):
        threads.add(threading.current_thread().name)
        return read_line(image, lang, **options)

    tesseract.read_line = watched  # (a spy: Tesseract still reads every line)
    try:
        read = service.ocr(page, "embedded", "ru")
    finally:
        del tesseract.read_line
    assert len(threads) == min(2, backend._size), threads  # the idle engine's core too, not one line after the other
    assert [line.text.split()[-1] for line in read.lines] == [str(n) for n in range(10, 18)]  # each in its place
    assert cer(read.text, "\n".join(lines)) <= 0.05, read.text


def test_rapidocr_alone_points_the_operator_to_the_installed_engines_not_to_install_them():
    # (the advice said "apt-get install tesseract-ocr ..." on a host that had it: a fresh user's walk)
    from inference.backends.ocr.rapid import other_backends

    if not HAS_TESSERACT or find_tessdata("auto") is None:
        pytest.skip("Tesseract is not installed (.ci/run installs it)")
    assert "use one of those models here" in other_backends() and "apt-get" not in other_backends()
