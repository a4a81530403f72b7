/*
 * page.js - the player check that runs inside the browser page, next to
 * hls.js. It plays ?src= (a master playlist) the way a viewer's browser
 * would, forces every level once, plays on past a time threshold (or to the
 * end), and leaves everything it saw in window.__result (also shown on the
 * page). It judges nothing that needs the server's view: play.mjs adds that.
 * It must never fake a pass: every "ok" is an observed event or a decoded
 * picture.
 */
(function () {
  'use strict';

  const q = new URLSearchParams(location.search);
  const src = q.get('src') || '/media/master.m3u8';
  const minTime = Number(q.get('min') || 3);
  const toEnd = q.get('end') === '1';
  const rate = Number(q.get('rate') || 4);
  const stepMs = Number(q.get('step') || 12000); /* per level, per switch: a loaded 2-core machine needs it */

  const video = document.getElementById('v');
  const out = document.getElementById('out');
  const R = {
    hlsjs: typeof Hls !== 'undefined' ? Hls.version : null,
    user_agent: navigator.userAgent,
    src: src,
    mse: typeof MediaSource !== 'undefined',
    manifest_variants: 0,
    manifest_parsed: false,
    levels: [],
    level_checks: [],
    switches: [],
    playback: { started: false, current_time: 0, min_time: minTime, ended: false, rate: rate, stalls: 0 },
    video: { width: 0, height: 0 },
    duration: null,
    playlist_durations: [],
    audio_tracks: [],
    audio_switch: null,
    subtitle_tracks: [],
    subtitles: null,
    errors: [],
    video_error: null,
    reasons: [],
  };
  const fail = (m) => R.reasons.push(m);
  const t0 = performance.now();

  /* Non-fatal hls.js errors that say nothing against the stream: forcing a
   * level aborts the loads in flight; the first fragment's media starts at
   * ~0.12 s and hls.js seeks over that gap (it does so on the ffmpeg CLI's
   * own HLS output of the same clip too); a stall while playing at 4x on a
   * busy machine is hls.js nudging, not bad media. Every other error, fatal
   * or not, fails the check. */
  /* With audio in renditions of its own and B-frames in the video, hls.js
   * 1.7 reports the first video fragment as appended "without buffered
   * range growth" once (the MediaSource's range is the intersection of
   * audio and video, and the video starts a frame before its first
   * picture); the ffmpeg CLI's own HLS output with an audio group draws the
   * same warning. Every level must still load, buffer and decode below. */
  const BENIGN = new Set(['aborted', 'bufferSeekOverHole', 'bufferNudgeOnStall', 'bufferStalledError',
    'bufferAppendNoProgress']);

  const frags = []; /* {level, sn, ev: 'loaded'|'buffered'} in arrival order */

  function until(cond, ms, what) {
    return new Promise((resolve) => {
      const end = performance.now() + ms;
      (function poll() {
        let v = false;
        try {
          v = cond();
        } catch (e) {
          v = false;
        }
        if (v) return resolve(true);
        if (performance.now() > end) {
          if (what) fail('timed out after ' + ms + ' ms waiting for ' + what);
          return resolve(false);
        }
        setTimeout(poll, 40);
      })();
    });
  }

  function finish(hls) {
    R.playback.current_time = video.currentTime;
    R.playback.ended = video.ended;
    R.video = { width: video.videoWidth, height: video.videoHeight };
    R.duration = Number.isFinite(video.duration) ? video.duration : null;
    R.elapsed_ms = Math.round(performance.now() - t0);
    try {
      if (hls) hls.destroy();
    } catch (e) {
      fail('hls.destroy() threw: ' + e);
    }
    out.textContent = JSON.stringify(R, null, 2);
    window.__result = R;
  }

  /* countVariants - EXT-X-STREAM-INF lines of the master as served, so that
   * a variant hls.js drops (e.g. a codec the browser lacks) is noticed.
   * Audio-only variants are for players that want no picture: hls.js drops
   * them when there is video, so only video variants count then. */
  async function countVariants() {
    const res = await fetch(src, { cache: 'no-store' });
    if (!res.ok) throw new Error('GET ' + src + ': HTTP ' + res.status);
    const text = await res.text();
    const all = text.split(/\r?\n/).filter((l) => l.startsWith('#EXT-X-STREAM-INF:'));
    const video = all.filter((l) => /[:,]RESOLUTION=/.test(l));
    return video.length > 0 ? video.length : all.length;
  }

  /* switchAudio - choose another audio track (another language) and wait
   * for hls.js to switch and buffer audio of it. */
  async function switchAudio(hls) {
    const from = hls.audioTrack;
    const to = R.audio_tracks.findIndex((t, i) => i !== from && t.lang !== R.audio_tracks[from].lang);
    if (to < 0) return;
    const mark = frags.length;
    let switched = false;
    hls.once(Hls.Events.AUDIO_TRACK_SWITCHED, () => {
      switched = true;
    });
    hls.audioTrack = to;
    const ok = await until(
      () => switched && frags.slice(mark).some((f) => f.type === 'audio' && f.ev === 'buffered'),
      stepMs,
      null
    );
    R.audio_switch = { from: from, to: to, lang: R.audio_tracks[to].lang, switched: switched,
      audio_buffered: frags.slice(mark).some((f) => f.type === 'audio' && f.ev === 'buffered'),
      now: hls.audioTrack, ok: ok };
    if (!ok) fail('audio track switch to ' + to + ' (' + R.audio_tracks[to].lang + ') did not happen');
  }

  /* showSubtitles - turn the first subtitle track on and wait for its cues
   * to reach the video element's text track. */
  async function showSubtitles(hls) {
    hls.subtitleDisplay = true;
    hls.subtitleTrack = 0;
    const cues = () => {
      for (const t of Array.from(video.textTracks)) {
        if (t.mode === 'showing' && t.cues && t.cues.length > 0) return Array.from(t.cues);
      }
      return [];
    };
    const ok = await until(() => cues().length > 0, stepMs, null);
    R.subtitles = { track: hls.subtitleTrack, ok: ok,
      cues: cues().map((c) => ({ start: c.startTime, end: c.endTime, text: c.text })) };
    if (!ok) fail('no subtitle cues reached the video element');
  }

  async function run() {
    if (typeof Hls === 'undefined') return fail('hls.js did not load');
    if (!Hls.isSupported()) return fail('hls.js says this browser has no usable MediaSource');
    try {
      R.manifest_variants = await countVariants();
    } catch (e) {
      return fail('master playlist: ' + e.message);
    }

    const hls = new Hls({
      startLevel: 0,
      capLevelToPlayerSize: false,
      maxBufferLength: 8,
      enableWorker: true,
      debug: false,
    });
    run.hls = hls;
    hls.on(Hls.Events.ERROR, (_, d) => {
      R.errors.push({
        type: d.type,
        details: d.details,
        fatal: !!d.fatal,
        level: d.frag ? d.frag.level : d.level,
        url: d.frag ? d.frag.url : d.url || (d.context && d.context.url) || undefined,
        reason: d.reason || (d.error && d.error.message) || (d.response && d.response.code) || undefined,
        at: Math.round(performance.now() - t0),
      });
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      R.manifest_parsed = true;
    });
    hls.on(Hls.Events.LEVEL_LOADED, (_, d) => {
      R.playlist_durations[d.level] = d.details.totalduration;
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => {
      R.switches.push({ level: d.level, at: Math.round(performance.now() - t0) });
    });
    hls.on(Hls.Events.FRAG_LOADED, (_, d) =>
      frags.push({ level: d.frag.level, sn: d.frag.sn, type: d.frag.type, ev: 'loaded' }));
    hls.on(Hls.Events.FRAG_BUFFERED, (_, d) =>
      frags.push({ level: d.frag.level, sn: d.frag.sn, type: d.frag.type, ev: 'buffered' }));
    video.addEventListener('waiting', () => {
      if (R.playback.started) R.playback.stalls++;
    });
    video.addEventListener('error', () => {
      const e = video.error;
      R.video_error = e ? { code: e.code, message: e.message } : { code: 0, message: '?' };
    });

    video.muted = true;
    hls.attachMedia(video);
    hls.loadSource(src);
    if (!(await until(() => R.manifest_parsed || R.errors.some((e) => e.fatal), 8000, 'MANIFEST_PARSED')))
      return;
    if (!R.manifest_parsed) return fail('no MANIFEST_PARSED (fatal error before it)');

    R.levels = hls.levels.map((l, i) => {
      const codecs = (l.attrs && l.attrs.CODECS) || '';
      return {
        index: i,
        width: l.width || 0,
        height: l.height || 0,
        bitrate: l.bitrate,
        average_bitrate: (l.attrs && Number(l.attrs['AVERAGE-BANDWIDTH'])) || null,
        codecs: codecs,
        frame_rate: (l.attrs && Number(l.attrs['FRAME-RATE'])) || null,
        url: Array.isArray(l.url) ? l.url[0] : l.url,
        mse_supported: codecs ? MediaSource.isTypeSupported('video/mp4; codecs="' + codecs + '"') : null,
      };
    });
    if (R.levels.length !== R.manifest_variants)
      fail('hls.js kept ' + R.levels.length + ' of ' + R.manifest_variants + ' variants');
    R.audio_tracks = hls.audioTracks.map((t) => ({ name: t.name, lang: t.lang || '', group: t.groupId,
      default: !!t.default, channels: (t.attrs && t.attrs.CHANNELS) || null }));
    R.subtitle_tracks = hls.subtitleTracks.map((t) => ({ name: t.name, lang: t.lang || '',
      default: !!t.default }));

    try {
      await video.play();
    } catch (e) {
      return fail('video.play() was refused: ' + e.message);
    }
    if (!(await until(() => video.currentTime > 0.1 && !video.paused, stepMs, 'playback to start'))) return;
    R.playback.started = true;

    /* Force every level once: hls.js flushes the buffer and loads that
     * level at the current position; the level is "ok" when its fragment
     * was loaded and buffered and the picture decoded at its size. */
    for (let i = 0; i < R.levels.length; i++) {
      const L = R.levels[i];
      if (video.ended || video.duration - video.currentTime < 2) {
        video.currentTime = 0;
        video.play().catch(() => {});
      }
      const mark = frags.length;
      const since = () => frags.slice(mark).filter((f) => f.level === i);
      hls.currentLevel = i;
      const sized = () => !L.width || (video.videoWidth === L.width && video.videoHeight === L.height);
      const ok = await until(
        () => since().some((f) => f.ev === 'loaded') && since().some((f) => f.ev === 'buffered') && sized() && !video.paused,
        stepMs,
        null
      );
      const c = {
        level: i,
        fragment_loaded: since().some((f) => f.ev === 'loaded'),
        fragment_buffered: since().some((f) => f.ev === 'buffered'),
        decoded: [video.videoWidth, video.videoHeight],
        at_time: video.currentTime,
        ok: ok,
      };
      R.level_checks.push(c);
      if (!ok)
        fail(
          'level ' + i + ' (' + L.width + 'x' + L.height + '): loaded=' + c.fragment_loaded +
            ' buffered=' + c.fragment_buffered + ' decoded=' + c.decoded.join('x')
        );
    }

    /* Another language, and the subtitles, as a viewer would pick them. */
    if (R.audio_tracks.length > 1) await switchAudio(hls);
    if (R.subtitle_tracks.length > 0) await showSubtitles(hls);

    /* Then play on fast: past minTime, or to the end when asked. */
    if (video.ended) {
      video.currentTime = 0;
      video.play().catch(() => {});
    }
    video.playbackRate = rate;
    const target = Math.min(minTime, Math.max(0, (video.duration || minTime) - 0.25));
    const left = ((video.duration || minTime) - video.currentTime) / rate;
    const budget = Math.round(left * 1000 * 2 + stepMs);
    let reached = 0;
    const seen = () => {
      reached = Math.max(reached, video.currentTime);
      return reached;
    };
    if (toEnd) await until(() => seen() >= target && video.ended, budget, 'the end of the stream (ended)');
    else await until(() => seen() >= target, budget, 'currentTime >= ' + target);
    R.playback.max_time = seen();
  }

  run()
    .catch((e) => fail('page: ' + (e && e.stack ? e.stack : e)))
    .then(() => {
      if (R.video_error) fail('video element error ' + R.video_error.code + ': ' + R.video_error.message);
      for (const e of R.errors) {
        const what = e.type + '/' + e.details + (e.reason ? ' (' + e.reason + ')' : '') + (e.url ? ' ' + e.url : '');
        if (e.fatal) fail('fatal hls.js error ' + what);
        else if (!BENIGN.has(e.details)) fail('hls.js error ' + what);
      }
      finish(run.hls);
    });
})();
