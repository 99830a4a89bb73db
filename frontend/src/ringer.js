/**
 * An incoming call must be noticed in a background tab: the tab title flashes, a ring tone
 * generated in the page plays (Web Audio: no audio file from anywhere), and a system
 * notification shows where the person allowed them. Each part fails quietly on its own (no
 * AudioContext before a user gesture, notifications denied): the ring card still shows.
 */

const FLASH_MS = 1000;
// The North American ring: 440 + 480 Hz, two seconds on, four off.
const TONES = [440, 480];
const RING_ON_S = 2;
const RING_CYCLE_S = 6;

export class Ringer {
  /**
   * @param {{doc?: Document, timers?: any, makeAudio?: () => AudioContext, notifications?: any}}
   *   [parts] what the page gives by default (tests give fakes)
   */
  constructor({ doc = globalThis.document, timers = globalThis, makeAudio, notifications } = {}) {
    this.doc = doc;
    this.timers = timers;
    this.makeAudio = makeAudio ?? (() => new globalThis.AudioContext());
    this.notifications = notifications ?? globalThis.Notification;
    this.flashing = null;
    this.audio = null;
    this.notice = null;
  }

  get ringing() {
    return this.flashing !== null;
  }

  /** Start telling of a ringing call, in `text` ("Alice is calling you"). */
  start(text) {
    if (this.ringing) return;
    this.title = this.doc.title;
    let alert = true;
    this.doc.title = `📞 ${text}`;
    this.flashing = this.timers.setInterval(() => {
      alert = !alert;
      this.doc.title = alert ? `📞 ${text}` : this.title;
    }, FLASH_MS);
    this.startTone();
    this.showNotice(text);
  }

  stop() {
    if (!this.ringing) return;
    this.timers.clearInterval(this.flashing);
    this.flashing = null;
    this.doc.title = this.title;
    if (this.audio) this.audio.close().catch(() => {});
    this.audio = null;
    if (this.notice) this.notice.close();
    this.notice = null;
  }

  startTone() {
    try {
      const audio = this.makeAudio();
      const gain = audio.createGain();
      gain.gain.value = 0;
      gain.connect(audio.destination);
      for (const frequency of TONES) {
        const tone = audio.createOscillator();
        tone.frequency.value = frequency;
        tone.connect(gain);
        tone.start();
      }
      // Two minutes of the cadence, scheduled ahead: longer than any ring lasts.
      for (let at = audio.currentTime; at < audio.currentTime + 120; at += RING_CYCLE_S) {
        gain.gain.setValueAtTime(0.1, at);
        gain.gain.setValueAtTime(0, at + RING_ON_S);
      }
      this.audio = audio;
    } catch {
      this.audio = null; // no Web Audio here: the title and the card still tell
    }
  }

  showNotice(text) {
    try {
      if (this.notifications?.permission === "granted") {
        this.notice = new this.notifications("Parley", { body: text, tag: "parley-ring" });
      }
    } catch {
      this.notice = null;
    }
  }
}

/** Ask, once and from a user's gesture, whether incoming calls may show a notification. */
export function askForNotifications(notifications = globalThis.Notification) {
  if (notifications?.permission === "default") notifications.requestPermission().catch?.(() => {});
}
