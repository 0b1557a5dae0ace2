"""The tesseract model reads a page without a hint in its default language (English), and a Russian page then comes
back as Latin look-alikes ("Npusert, mup!" for "Привет, мир!"): it says the page may be in another script, naming only
the Cyrillic languages installed here, and never says so of English pages, a receipt or pages in other Latin-script
languages. Images are rendered here, read by the real engine."""

import pytest

from inference import InferenceService
from inference.backends.ocr.tesseract import find_tessdata, installed_languages
from tests.helpers import aeon_receipt, cer, dejavu, needs_tesseract, needs_tesseract_russian, render_with
from tests.polling import unload_all

RUSSIAN_PAGES = [
    ["Привет, мир!", "Съешь же ещё этих мягких французских булок", "Итого: 150 рублей"],
    ["Счёт № 5821 от 12 марта", "Оплата по договору № 17 от 3 мая", "Итого к оплате: 12 400 руб."],
    ["Москва, ул. Тверская, д. 7", "Менеджер: Анна Смирнова", "Дата оплаты 15 марта 2026 года", "Номер заказа 4471"],
]
ENGLISH_PAGES = [
    ["Invoice number 4471 dated March 12", "Total amount due: 318.40 USD", "Please pay within thirty days."],
    ["The quick brown fox jumps over the lazy dog.", "We come once more to the Tobacco Road.", "Contact: office@example.com"],
    ["Mehmet Koca, Kebap TAPA 2,00", "Coca-Cola 1,50", "Hummus mezze 4,20"],  # (names drawn in look-alike letters)
    ["iPhone 15 Pro, MacBook Air, eBay, PayPal", "def getElementById(self, nodeId):", "H2O, CO2, NaCl, H2SO4, CaCO3"],
]
OTHER_LATIN_PAGES = [  # (read with English: few words of its dictionary, but Latin letters Cyrillic is seldom read as)
    ["Dziękujemy za zakupy, zapraszamy ponownie", "Kwota do zapłaty: 318,40 zł"],
    ["Děkujeme za nákup, těšíme se na vás", "Celková částka k úhradě: 318,40 Kč"],
    ["Bizi tercih ettiğiniz için teşekkür ederiz", "Toplam tutar: 318,40 TL"],
    ["Eskerrik asko zure erosketagatik", "Ordaindu beharreko zenbatekoa: 318,40 euro"],
    ["Facture numéro 4471 du 12 mars", "Montant total dû : 318,40 EUR", "Reçu à Genève, merci beaucoup !"],
]
FACES = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf")


def expected_warning() -> str:
    """The warning as this host says it: the Cyrillic languages whose data is installed here."""
    installed = installed_languages(find_tessdata("auto"))
    codes = [code for code, data in (("ru", "rus"), ("uk", "ukr")) if data in installed]
    names = " or ".join({"ru": "Russian", "uk": "Ukrainian"}[code] for code in codes)
    hints = " or ".join(f"language={code}" for code in codes)
    return f"This page may be in another script ({names}?): send its language ({hints}) to read it."


@pytest.fixture(scope="module")
def english_only(settings, tmp_path_factory):
    """The tesseract model with Tesseract's English data alone (a folder of its own)."""
    folder = tmp_path_factory.mktemp("tessdata")
    (folder / "eng.traineddata").symlink_to(find_tessdata("auto") / "eng.traineddata")
    config = settings.model_copy(deep=True)
    for entry in config.models:
        if entry.backend == "tesseract":
            entry.options["tessdata"] = str(folder)
    service = InferenceService(config)
    yield service
    unload_all(service.manager)


@needs_tesseract_russian
def test_tesseract_says_a_page_read_in_english_may_be_in_russian_and_reads_it_with_the_hint(service):
    for face in ("DejaVuSans.ttf", "DejaVuSansMono.ttf"):
        for lines in RUSSIAN_PAGES:
            image = render_with(dejavu(face, 30), lines)
            guessed = service.ocr(image, "tesseract")
            assert not any("\u0400" <= ch <= "\u04ff" for ch in guessed.text), guessed.text  # (read in Latin letters)
            assert guessed.warnings == [expected_warning()], (face, guessed.text, guessed.warnings)
            hinted = service.ocr(image, "tesseract", "ru")
            assert hinted.warnings == [] and cer(hinted.text, "\n".join(lines)) <= 0.05, (face, hinted.text)


@needs_tesseract_russian
def test_tesseract_says_it_of_no_english_page_no_receipt_and_no_other_latin_script_page(service, english_only):
    assert expected_warning() in service.ocr(render_with(dejavu("DejaVuSans.ttf", 30), RUSSIAN_PAGES[0]), "tesseract").warnings
    for face in FACES:
        for size in (20, 30):
            for lines in ENGLISH_PAGES + OTHER_LATIN_PAGES:
                result = service.ocr(render_with(dejavu(face, size), lines), "tesseract")
                assert result.warnings == [], (face, size, result.text, result.warnings)
        result = service.ocr(aeon_receipt(dejavu(face, 24)), "tesseract")
        assert result.warnings == [] and "THANK YOU" in result.text, (face, result.text, result.warnings)
    result = service.ocr(render_with(dejavu("DejaVuSans.ttf", 30), ENGLISH_PAGES[0]), "tesseract", "en")
    assert result.warnings == [] and cer(result.text, "\n".join(ENGLISH_PAGES[0])) <= 0.05, result.text
    # with no Cyrillic language installed there is none to name (nor to read the page with): nothing is said
    result = english_only.ocr(render_with(dejavu("DejaVuSans.ttf", 30), RUSSIAN_PAGES[0]), "tesseract")
    assert result.text and result.warnings == [], result.warnings


@needs_tesseract
def test_a_page_read_in_english_is_told_from_cyrillic_by_its_letters_and_words():
    from inference.backends.ocr.script_check import cyrillic_read_as_latin
    from inference.backends.ocr.tess_words import dictionary

    english = dictionary(find_tessdata("auto"), "eng")
    russian = [  # (Tesseract's English readings of Russian pages)
        ["Npusert, mup!", "CbeLlub Ke ELLE STUX MAKUX C—paHLiy3ckux byNoK", "Utoro: 150 py6nen"],
        ["Cuyét Ne 5821 oT 12 mapta", "Onnata no goroBopy Ne 17 oT 3 Maa", "Utoro k onnate: 12 400 py6."],
        ["B necy pogunacb énouka, B necy oHa pocna.", "3umoi wu netom cTpoiHaa, 3enéHaa 6pina."],
    ]
    for page in russian:
        assert cyrillic_read_as_latin(page, english), page
    latin = [
        ["Dziekujemy za zakupy, zapraszamy ponownie", "Kwota do zaptaty: 318,40 zt"],  # (few English words...)
        ["Dékujeme za nakup, téSime se na vas", "Celkova ¢astka k Uhradé: 318,40 Ké"],  # (...but letters such as z, s, d)
        ["Eskerrik asko zure erosketagatik", "Ordaindu beharreko zenbatekoa: 318,40 euro"],
        ["Mehmet Koca", "Ahmet Tepe", "Kemal Mopkap", "Burak Hoca"],  # (look-alikes, but English has some of them)
        ["Order ID: A7B9C3X2", "SKU: 4K8M2P9", "Ref: XK3-99Z-1A"],
        ["Cnacu60"],  # (too few letters to tell)
        ["HAJIUYHbIMU 500,00", "UTOTO 450,00"],  # (capitals alone: too little)
    ]
    for page in latin:
        assert not cyrillic_read_as_latin(page, english), page


@needs_tesseract_russian
def test_a_page_partly_in_russian_is_said_to_be_so_and_read_with_both_languages(service):
    # (read in English, its Russian lines came back as look-alikes and nothing was said: the page's English lines kept
    # the page-wide look from showing; a fresh user's walk)
    mixed = [
        "Счёт-фактура № 17 от 3 декабря 2026 года",
        "Поставщик: ООО «Ромашка», Москва",
        "Invoice total: 12 500 RUB (VAT included)",
        "Оплата по договору № 45/2026, contract signed in Berlin",
        "Спасибо за заказ! Thank you for your order.",
    ]
    image = render_with(dejavu("DejaVuSans.ttf", 30), mixed)
    guessed = service.ocr(image, "tesseract")
    assert len(guessed.warnings) == 1 and "lines of this page may be in another script (Russian" in guessed.warnings[0]
    assert "language=ru+en" in guessed.warnings[0], guessed.warnings
    hinted = service.ocr(image, "tesseract", "ru+en")
    assert hinted.warnings == [] and cer(hinted.text, "\n".join(mixed)) <= 0.05, hinted.text
