"""People using the browser app: each in a browser context of their own, with page helpers.

Everything goes through the page as a person would use it (labels, buttons, keys). Each person
also records what must never happen: uncaught page errors, the app's own error logs, dialogs
(an injected ``alert()``), and requests to anywhere but the Parley server under test.
"""

import re
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser, BrowserContext, Locator, Page, ViewportSize, expect

VIEWPORT: ViewportSize = {"width": 1280, "height": 860}


def exactly(text: str) -> re.Pattern[str]:
    return re.compile(f"^{re.escape(text)}$")


class Person:
    """One person's browser context and page."""

    def __init__(self, name: str, context: BrowserContext, page: Page, base_url: str) -> None:
        self.name = name
        self.context = context
        self.page = page
        self.base_url = base_url
        self.problems: list[str] = []
        self.id = 0
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self.console)
        page.on("dialog", self.dialog)
        page.on("request", lambda request: self.check_host(request.url))
        page.on("websocket", lambda socket: self.check_host(socket.url))

    def console(self, message: Any) -> None:
        if message.type == "error" and (
            message.text.startswith("parley:") or "Content Security Policy" in message.text
        ):
            self.problems.append(f"console: {message.text}")

    async def dialog(self, dialog: Any) -> None:
        self.problems.append(f"dialog: {dialog.type} {dialog.message!r}")
        await dialog.dismiss()

    def check_host(self, url: str) -> None:
        """Everything the page loads comes from Parley: no CDN, no outside service."""
        parts = urlsplit(url)
        if parts.scheme in {"data", "blob", "about"}:
            return
        if parts.hostname != "127.0.0.1":
            self.problems.append(f"request outside Parley: {url}")

    # --- Signing in ---------------------------------------------------------------------------

    async def open(self, path: str = "/") -> None:
        await self.page.goto(self.base_url + path)

    async def sign_in_as_guest(self) -> None:
        await self.open()
        await self.page.get_by_label("Display name").fill(self.name)
        await self.page.get_by_role("button", name="Continue").click()
        await self.signed_in()

    async def sign_in(self, username: str, password: str) -> None:
        await self.open()
        await self.page.locator("#login-username").fill(username)
        await self.page.locator("#login-password").fill(password)
        await self.page.get_by_role("button", name="Sign in", exact=True).click()
        await self.signed_in()

    async def signed_in(self) -> None:
        await expect(self.page.locator(".me-name")).to_have_text(self.name)
        me = await self.page.evaluate("fetch('/api/auth/me/').then((r) => r.json())")
        self.id = me["id"]

    # --- Rooms ----------------------------------------------------------------------------------

    async def create_room(self, title: str, name: str, private: bool = False) -> int:
        await self.page.goto(self.base_url + "/#/")
        await self.page.get_by_label("Title").fill(title)
        await self.page.get_by_label("Name", exact=True).fill(name)
        if private:
            await self.page.get_by_label("Private").check()
        await self.page.get_by_role("button", name="Create room").click()
        await expect(self.page).to_have_url(re.compile(r"#/room/\d+$"))
        await self.room_ready()
        return int(self.page.url.rsplit("/", 1)[1])

    async def open_room(self, room_id: int) -> None:
        url = f"{self.base_url}/#/room/{room_id}"
        if self.page.url == url:
            await self.page.reload()
        else:
            await self.page.goto(url)
        await expect(self.page.locator(".room-header h1")).not_to_have_text("Loading…")

    async def join_room(self) -> None:
        await self.page.get_by_role("button", name="Join room").click()
        await self.room_ready()

    async def room_ready(self) -> None:
        """The composer shows once the room's members (me among them) are loaded."""
        await expect(self.page.get_by_label("Message", exact=True)).to_be_visible()

    @property
    def messages(self) -> Locator:
        """The bodies of the messages shown in the room, oldest first."""
        return self.page.locator("ol.message-log > li.message .message-body")

    def message(self, text: str) -> Locator:
        return self.messages.filter(has_text=exactly(text))

    def message_item(self, text: str) -> Locator:
        """The whole message (author, time, body, buttons) whose body is ``text``."""
        body = self.page.locator(".message-body").filter(has_text=exactly(text))
        return self.page.locator("ol.message-log > li.message").filter(has=body)

    async def send(self, text: str) -> None:
        """Type a message and press Enter; wait until the server confirmed it."""
        composer = self.page.get_by_label("Message", exact=True)
        await composer.fill(text)
        await composer.press("Enter")
        await expect(self.message(text)).to_have_count(1)

    def member(self, person: "Person") -> Locator:
        return self.page.locator(f'li.member[data-user-id="{person.id}"]')

    async def sees_online(self, person: "Person") -> None:
        await expect(self.member(person)).to_have_attribute("data-online", "true")

    # --- Calls ----------------------------------------------------------------------------------

    async def call(self, person: "Person") -> None:
        await self.member(person).get_by_role("button", name=f"Call {person.name}").click()

    def ring(self, caller: "Person") -> Locator:
        return self.page.get_by_role("alertdialog", name=f"{caller.name} is calling you")

    def notice(self, text: str) -> Locator:
        return self.page.locator(".call-notice").filter(has_text=text)

    async def screenshot(self, path: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(path))


class People:
    """Opens a browser context per person; on a clean exit, checks none of them saw a problem."""

    def __init__(self, base_url: str, browser: Browser) -> None:
        self.base_url = base_url
        self.browser = browser
        self.crowd: list[Person] = []

    async def __aenter__(self) -> "People":
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        problems = [f"{p.name}: {problem}" for p in self.crowd for problem in p.problems]
        for person in self.crowd:
            await person.context.close()
        if kind is None:
            assert not problems, "\n".join(problems)

    async def person(self, name: str, base_url: str | None = None) -> Person:
        context = await self.browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(15_000)
        await context.grant_permissions(["camera", "microphone"])
        page = await context.new_page()
        person = Person(name, context, page, base_url or self.base_url)
        self.crowd.append(person)
        return person

    async def guest(self, name: str, base_url: str | None = None) -> Person:
        """A person signed in as a guest with the display name ``name``."""
        person = await self.person(name, base_url)
        await person.sign_in_as_guest()
        return person

    async def meet(self, host: Person, guest: Person, title: str, name: str) -> int:
        """``host`` opens a public room, ``guest`` joins it and speaks; each sees the other online.

        (Joining while already online is not announced to the room's presence subscribers: the
        host's page learns of the new member from their first message or typing.)
        """
        room = await host.create_room(title, name)
        await guest.open_room(room)
        await guest.join_room()
        await guest.send(f"Hi, {host.name}!")
        await expect(host.message(f"Hi, {host.name}!")).to_have_count(1)
        await host.sees_online(guest)
        await guest.sees_online(host)
        return room

    async def alice_and_bob(self, alice_url: str | None = None) -> tuple[Person, Person]:
        """Two guests, Alice (at ``alice_url``, e.g. through a proxy) and Bob, who met in a
        public room ("Harbour talk")."""
        alice = await self.guest("Alice", base_url=alice_url)
        bob = await self.guest("Bob")
        await self.meet(alice, bob, "Harbour talk", "harbour")
        return alice, bob
