"""The default privacy notice: what the applicant reads until the secretariat writes an edition's
own. Written for WeGO's secretariat against Korea's Personal Information Protection Act (its
Article 30 lists what a notice must say) and the GDPR (Article 13).

The sentences are English source text marked for the catalogues (``_l`` marks and returns them
unchanged: operations know no Flask); the API answers them in English, and the pages translate
each with its placeholders: ``%(email)s`` the secretariat's address (PRIZE_SECRETARIAT_EMAIL) and
``%(days)s`` the days after the ceremony at which visa and passport details are deleted
(PRIZE_TRAVEL_DATA_DAYS).
"""
from __future__ import annotations


def _l(message: str) -> str:
    """Marks ``message`` for the catalogues (pybabel extracts ``_l``); the page translates it."""
    return message


# (heading, paragraphs): the order of Article 30 PIPA and Article 13 GDPR, in plain words
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (_l("Who is responsible"), (
        _l("The Seoul Smart City Prize is run by the secretariat of WeGO (World Smart Sustainable Cities "
           "Organization), Seoul, Republic of Korea, with the Seoul Metropolitan Government. WeGO's secretariat "
           "decides how your personal data is used for the prize: it is the personal information controller "
           "under Korea's Personal Information Protection Act and the controller under the GDPR."),
    )),
    (_l("What we collect"), (
        _l("When you register: your organisation, country and city, the contact person's name and email address, "
           "a second contact's name and email address if you give them, and the language you want us to write in."),
        _l("When you apply: your answers and the documents you upload. When you sign in: the time and the network "
           "address, to protect your account."),
        _l("If you are invited to the award ceremony: the names, roles and email addresses of your delegation and "
           "substitute, any accessibility needs you tell us, and, only if you ask for a visa invitation letter, each "
           "person's name as in their passport and their nationality."),
    )),
    (_l("Why we use it"), (
        _l("To run the prize: to register you and let you sign in, to receive and check your application, to have "
           "the jury assess it, to tell you the results, to invite you to the ceremony and write visa invitation "
           "letters, and to write to you about the prize. We use it for nothing else, and we never sell it."),
        _l("We use it with your consent, which you give when you register and, for visa and passport details, when "
           "you give them (Personal Information Protection Act, Article 15; GDPR, Article 6(1)(a)). You may refuse "
           "or withdraw your consent at any time; without it we cannot consider your application or write a visa "
           "letter. Withdrawing does not undo what was done before."),
    )),
    (_l("Who sees it"), (
        _l("The prize secretariat at WeGO; the jurors of your edition, who read your application; the Seoul "
           "Metropolitan Government, as co-host, for the finalists, the winners and the ceremony; and the companies "
           "that host our systems and send our emails, only on our instructions and under contract. Visa and "
           "passport details are seen only by the secretariat staff who write the invitation letters."),
        _l("The winners' organisations, cities and projects are published. WeGO's secretariat works in Seoul: your "
           "data is kept and used in the Republic of Korea, whatever country you apply from."),
    )),
    (_l("How long we keep it"), (
        _l("Visa and passport details are deleted automatically %(days)s days after the ceremony."),
        _l("Your registration and applications are kept as the record of the prize. After your edition you may ask "
           "us to delete them: we then erase your personal data and keep only the decisions, without your name."),
    )),
    (_l("How we protect it"), (
        _l("Your data travels encrypted. You sign in with one-time links, not passwords. Only staff with a role "
           "in the prize can read it, and every change they make is recorded with their name."),
    )),
    (_l("Your rights"), (
        _l("You may ask to see the personal data we hold about you and receive a copy of it, to have it corrected "
           "or deleted, to have its use stopped or limited, and to withdraw your consent (Personal Information "
           "Protection Act, Articles 35 to 37; GDPR, Articles 15 to 21). You correct most of your record yourself "
           "on your profile page."),
        _l("You may also complain to a data protection authority: in Korea the Personal Information Protection "
           "Commission (www.pipc.go.kr), in the European Union the authority of your country."),
    )),
    (_l("Contact"), (
        _l("Write to the prize secretariat at %(email)s about anything in this notice or to use your rights; the "
           "secretariat's privacy officer answers within ten days."),
    )),
)


def english(email: str, days: int) -> str:
    """The default notice as plain text in English: a heading line, then its paragraphs, each
    separated by a blank line (the form the secretariat writes its own notice in)."""
    values = {"email": email, "days": days}
    blocks = []
    for heading, paragraphs in SECTIONS:
        blocks.append(heading)
        blocks.extend(paragraph % values for paragraph in paragraphs)
    return "\n\n".join(blocks)
