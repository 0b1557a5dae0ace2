"""Pages mostly in Cyrillic, or in a script no engine reads, with lines of Russian here and there: each Russian line
read in Cyrillic, however RapidOCR read it first (rendered here; Tesseract's Russian data needed)."""

from inference.backends.ocr.script_check import in_another_script, page_script_reading
from inference.backends.ocr.tesseract import Word
from tests.helpers import cer, render_with

from .test_ocr_scripts import MIXED, dejavu, needs_russian


def test_a_page_of_russian_in_small_print_is_read_in_cyrillic_line_by_line(service):
    """At 24 px RapidOCR reads 'Номер заказа 4471' as 'H 33 4471': few characters for the line's width, but sure and
    with no look-alike word; such a line is read again, as one with too few characters for its width. And 'Товар:
    Printer paper A4' as 'ToBap: Printer paper A4', where English reads 'Tosap' surely (as many letters read surely in
    English keep a line Latin): 'ToBap' is 'Товар' letter for look-alike letter."""
    needs_russian()
    lines = [line for line in MIXED if any("а" <= ch.lower() <= "я" for ch in line)]
    lines += ["Счёт № 5821 от 12 марта", "Договор поставки № 44 от 1 июня", "Получатель: ООО Ромашка"]
    lines += ["Срок оплаты до 30 апреля", "Сумма без НДС 10 000 руб."]
    result = service.ocr(render_with(dejavu("DejaVuSans.ttf", 24), lines), "embedded")
    read = result.text.splitlines()
    assert len(read) == len(lines), read
    wrong = [(a, b) for a, b in zip(lines, read, strict=True) if cer(b, a) > 0.15]
    assert wrong == []


GEORGIAN = [
    "საქართველო არის ლამაზი ქვეყანა",
    "თბილისი დედაქალაქია და დიდი ქალაქი",
    "მთები და მდინარეები ლამაზია",
    "ჩვენი სახლი ზღვის პირას დგას",
    "სკოლაში ბევრი წიგნი და მეგობარია",
    "ბაღში ვაშლი და მსხალი იზრდება",
    "ხალხი ქუჩაში მღერის და ცეკვავს",
    "ზამთარში მთებში თოვლი მოდის",
    "ქართული ენა ძალიან ძველია",
    "მატარებელი სადგურზე დილით მოდის",
    "ბაზარში ხილი და ბოსტნეული იყიდება",
    "მუზეუმში ძველი სურათებია",
    "ზაფხულში ზღვაზე ბევრი ხალხია",
]


def test_lines_beside_many_in_a_script_no_engine_reads_are_still_read_in_theirs(service):
    """A page mostly in a script no installed engine reads (Georgian), with lines in Russian here and there: those are
    read in Cyrillic, though RapidOCR may find no letter in them ('Оплата по договору № 17 от 3 мая' as '    1   ', as in
    the Georgian lines), and the Georgian lines are said. (Lines with no letter are no sign of a script none reads.)"""
    needs_russian()
    russian = ["Оплата по договору № 17 от 3 мая", "Итого к оплате: 12 400 руб."]
    page = GEORGIAN[:4] + russian[:1] + GEORGIAN[4:9] + russian[1:] + GEORGIAN[9:]  # (Russian at 4 and 10 of 15)
    result = service.ocr(render_with(dejavu("DejaVuSans.ttf", 30), page), "embedded")
    read = result.text.splitlines()
    for line in russian:
        assert min(cer(got, line) for got in read) <= 0.15, (line, read)
    (warning,) = result.warnings
    said = int(warning.split()[0])
    assert warning.endswith("seem to be in a script this server cannot read; their text is missing or a guess.")
    assert len(GEORGIAN) - 3 <= said <= len(GEORGIAN), warning


def test_on_a_long_page_in_a_script_no_engine_reads_every_doubtful_line_is_read_again(service):
    """RapidOCR reads a Russian line as a Georgian one ('    1   '): nothing tells them apart but Tesseract's reading.
    So on a long page in such a script, a Russian line near its top or foot is read in Cyrillic too (a sample of the
    doubtful lines re-read first, and the rest only when it found Cyrillic, missed these)."""
    needs_russian()
    russian = ["Оплата по договору № 17 от 3 мая", "Итого к оплате: 12 400 руб."]
    page = GEORGIAN[:1] + russian[:1] + GEORGIAN[1:] + GEORGIAN[::-1][:10] + russian[1:] + GEORGIAN[::-1][10:]
    result = service.ocr(render_with(dejavu("DejaVuSans.ttf", 30), page), "embedded")
    read = result.text.splitlines()
    for line in russian:
        assert min(cer(got, line) for got in read) <= 0.15, (line, read)


LOOK_ALIKE_LATIN = [
    "Kapa Tepe Mopkap Cabo Hocap Toba",
    "Bob Cobb, Pepco Ramapo Tacoma",
    "Coca Cola Company, Kobe, Tokyo",
    "Reçu à Genève, merci beaucoup !",
    "Gracias por su compra, vuelva pronto",
    "TAX INVOICE No. 8812 BERKAT",
    "Koca Mustafa Paşa Caddesi No. 12",
    "Hay poca agua en la presa este verano",
    "Una coppa di gelato e poca panna",
    "Kebap TAPA 2,00",
]


def test_latin_words_made_of_cyrillic_look_alike_letters_stay_latin(service):
    """Names and words in Latin whose letters all have Cyrillic look-alikes ('Kapa', 'Hocap', 'Cobb'), some of them
    Russian words too, drawn alike ('Koca' and 'коса', 'poca' and 'роса', 'TAPA' and 'ТАРА'): they stay Latin."""
    needs_russian()
    for size in (24, 36):
        result = service.ocr(render_with(dejavu("DejaVuSerif.ttf", size), LOOK_ALIKE_LATIN), "embedded")
        read = result.text.splitlines()
        assert not [line for line in read if any("\u0400" <= ch <= "\u04ff" for ch in line)], (size, read)
        assert cer(result.text, "\n".join(LOOK_ALIKE_LATIN)) <= 0.05, (size, read)


def test_a_word_rapidocr_read_nothing_of_before_a_price_is_read_in_cyrillic(service):
    """'Сыр 210,00' came out of RapidOCR as ' 210,00' (sure, and wide enough for its width): what it read of the word
    were letters outside Latin, left out, and the space after them kept; a reading that starts with a space is read
    again."""
    needs_russian()
    lines = ["Сыр 210,00", "Хлеб 45,00", "Молоко 89,90", "Масло 150,00", "Итого 494,90"]
    result = service.ocr(render_with(dejavu("DejaVuSans.ttf", 30), lines), "embedded")
    read = result.text.splitlines()
    assert len(read) == len(lines), read
    assert [(a, b) for a, b in zip(lines, read, strict=True) if cer(b, a) > 0.15] == []


RECEIPT = ["Суп", "Щи", "Да", "Кофе 120", "ИТОГО 450,00", "Кора и роса", "Шоколад молочный", "Сок 90", "Нет", "БЕЗНАЛИЧНЫМИ"]
RECEIPT += ["НДС 20%", "Сера", "ВЕС 0,5 КГ", "Сумма 1 250,00", "Ящик пива", "Тара 2,00", "Касса №2", "Курс USD 92,50"]
LATIN_ON_IT = ["Apple iPhone 15 Pro", "TAX INVOICE No. 8812", "Kebap TAPA 2,00", "Kapa Tepe Mopkap Cabo Hocap Toba"]
SECOND_RECEIPT = ["Томат 89,00", "Коса и роса", "Сыр 210,00", "Товар: Coffee beans 1 kg", "Кофе 120", "Чек 1234"]
SECOND_RECEIPT += ["Оплата: Visa ****4417", "Итого 450", "Хлеб бородинский", "Молоко 89,90", "ТОВАРНЫЙ ЧЕК № 1234"]
SECOND_RECEIPT += ["Сайт: www.example.ru"]


def test_a_russian_receipts_short_words_are_read_in_cyrillic_and_its_latin_lines_stay_latin(service):
    """Words drawn alike in both scripts ('Сера' / 'Cepa', 'Нет' / 'HeT', 'Тара' / 'Tapa', 'Томат' / 'Tomat': no sign on
    their own), read with a letter as RapidOCR reads it ('Cblp', 'Koφe', 'Yek'), and words RapidOCR reads nothing or a
    stub of ('Да', 'Суп' as 'Cyn') are read in Cyrillic on a page mostly in Russian;
    its Latin lines stay Latin, look-alike names among them ('Kapa Tepe Mopkap', though 'Кара' is a Russian word)."""
    needs_russian()
    pages = [("DejaVuSans.ttf", 26, RECEIPT[:9] + LATIN_ON_IT[:2] + RECEIPT[9:] + LATIN_ON_IT[2:])]
    pages += [("DejaVuSansMono.ttf", 28, pages[0][2]), ("DejaVuSerif.ttf", 32, SECOND_RECEIPT)]
    for face, size, lines in pages:
        read = service.ocr(render_with(dejavu(face, size), lines), "embedded").text.splitlines()
        assert len(read) == len(lines), (face, read)
        assert [(a, b) for a, b in zip(lines, read, strict=True) if cer(b, a) > 0.15] == [], face


def word(text: str, confidence: float = 0.95) -> Word:
    return Word(text, confidence, (0, 0, 1, 1))


def test_a_page_is_in_cyrillic_when_more_of_its_lines_are_than_show_latin():
    russian = ["Кофе 120", "ИТОГО 450,00", "Ящик пива"]
    assert in_another_script(russian + ["Cepa", "HeT", "Tapa 2,00", "Apple iPhone 15 Pro"])  # (look-alikes show nothing)
    assert not in_another_script(russian + ["Invoice 5821 dated March 12", "Paid by card", "Total amount due"])
    english = {"total", "cash", "change", "coffee"}  # (words with a letter seldom read for a Cyrillic one: 'l', 's'...)
    assert not in_another_script(russian + ["Total 12.40", "Cash 20.00", "Change 7.60", "Tea 2.00"], english)
    assert not in_another_script(russian[:2] + ["Cepa", "HeT"])  # (too few lines to tell)
    assert not in_another_script(["ΜΠΥΡΑ 4,00", "ΚΑΦΕΣ 2,50", "ΣΥΝΟΛΟ 6,50", "MYPA"])  # (Greek is not Cyrillic)


KNOWN = {"всего", "итого", "касса", "сера", "курс", "чек", "сыр", "кофе", "сайт", "кара", "сок", "томат", "какао"}
KNOWN |= {"чёрный", "метко", "кора", "и", "роса", "суп", "тах", "Теа", "НДС"}


def test_a_reading_in_the_page_script_is_taken_for_look_alike_words_or_more_letters():
    def reading(words: list[Word], read: str) -> str | None:
        return page_script_reading(words, read, KNOWN)

    assert reading([word("Сера")], "Cepa") == "Сера"
    assert reading([word("Курс"), word("USD"), word("92,50", 0.9)], "Kypc USD 92,50") == "Курс USD 92,50"
    assert reading([word("сок")], "COK") == "СОК"  # (in RapidOCR's capitals)
    assert reading([word("НДС"), word("20%")], "HOC 20%") is None  # (Д is no O)
    for cyrillic, read in (("Сыр", "Cblp"), ("Кофе", "Koφe"), ("Чек", "Yek"), ("Сайт:", "Caét:")):  # (ы, ф, ч, й as read)
        assert reading([word(cyrillic)], read) == cyrillic, read
    assert reading([word("Томат", 0.92)], "Tomat") == "Томат"
    assert reading([word("Техасо")], "Texaco") is None  # (not known: a brand read letter by letter)
    assert reading([word("Тасота")], "Tacoma") is None
    assert reading([word("КаКао")], "Kakao") is None  # (known, but not written as words are)
    assert reading([word("Касса"), word("№2", 0.9)], "KaccaN2") == "Касса №2"  # (a letter more: № read as N)
    assert reading([word("Метко")], "METRO") is None  # (a letter left out, not another one...)
    for cyrillic, read in (("ВСЕГО", "BCEFO"), ("Томат", "Tomam"), ("Итого:", "ÉToro:")):  # (...but for one misread)
        assert reading([word(cyrillic)], read) == cyrillic, read
    assert reading([word("Теа")], "Tea") is None  # (listed capitalised only: a name)
    assert reading([word("Чек"), word("1234", 0.9)], "e 1234") == "Чек 1234"  # (RapidOCR read fewer letters)
    assert reading([word("БЕЗНАЛИЧНЫМИ", 0.93)], "") == "БЕЗНАЛИЧНЫМИ"  # (not known, but sure and long)
    assert reading([word("КаКао", 0.93)], "") is None  # (...and not written as words are)
    assert reading([word("БЕЗНАЛИЧНЫМИ", 0.93)], "Bezhalichnymi") is None
    assert reading([word("Чек"), word("1234", 0.9)], "4ek 1234") == "Чек 1234"  # (a digit against letters: a letter)
    assert reading([word("БЕЗНАЛИЧНЫМИ", 0.93)], "BE3-5") is None  # (a digit lost)
    assert reading([word("Тах"), word("Code")], "Tax Code") is None  # (Cyrillic is not the most of the line)
    assert reading([word("Кора"), word("и"), word("роса")], "Kopa u poca") == "Кора и роса"  # ("и" shows nothing)
    assert reading([word("Суп")], "Cy") == "Суп"  # (fewer letters...)
    assert reading([word("ТЕХАСО", 0.9)], "TEXAC") is None  # (...of a brand read letter by letter)
    cut = [word("Кара"), word("Tepe", 0.9), word("Mopkap", 0.9), word("Cabo", 0.9)]
    assert reading(cut, "Kapa Tepe Mopkap Cab") is None  # (its Latin words read otherwise: 'Cab')
    phone = [word("Apple"), word("iPhone"), word("15"), word("Pro"), word("чёрный")]
    assert reading(phone, "Apple iPhone 15 Pro ëpí") == "Apple iPhone 15 Pro чёрный"  # (...and here the same)
    names = [word("Кара"), word("Tepe", 0.9), word("Mopkap", 0.9), word("Cabo", 0.9)]
    assert reading(names, "Kapa Tepe Mopkap Cabo") is None  # ('Кара': a fifth of the letters)
    assert reading([word("Сера", 0.3)], "Cepa") is None  # (a guess)
    assert reading([word("Apple")], "Apple") is None  # (nothing in Cyrillic)


def test_on_a_long_page_in_a_script_no_engine_reads_most_blank_lines_take_one_pass_of_tesseract(settings, monkeypatch):
    """The lines RapidOCR read no letter of are read by Tesseract with Russian and English: two passes of its network on a
    line in neither (~37 ms). Once a sample of eight, spread over the page, showed neither, the others are read with
    Russian alone first (one pass), and with both only where that finds Russian (the test above: a Russian line near
    the top or foot is still read in Cyrillic). Every Georgian line is still said."""
    from inference import InferenceService
    from tests.helpers import tesseract_reads
    from tests.polling import unload_all

    needs_russian()
    page = GEORGIAN + GEORGIAN[::-1]  # (26 lines; ~20 read blank by RapidOCR)
    reads = tesseract_reads(monkeypatch)  # (before the model is loaded: its own service)
    service = InferenceService(settings)
    try:
        result = service.ocr(render_with(dejavu("DejaVuSans.ttf", 30), page), "embedded")
    finally:
        unload_all(service.manager)
    (warning,) = result.warnings
    assert len(page) - 3 <= int(warning.split()[0]) <= len(page), warning
    mixed, alone = reads.get("rus+eng", 0), reads.get("rus", 0)
    assert alone >= 8 and mixed <= len(page) - 4, reads  # (every line with both once; now those RapidOCR read a
    # letter of, the sample, and the few Russian alone reads words of surely: 'соо')
