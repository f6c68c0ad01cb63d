'use strict';
// The sandbox's page: a thin client of the fakes' control APIs. Each pane
// reads its fake again when the fake's /_sandbox/events says something
// changed, and acts through the fake as the person chosen would.

const S = JSON.parse(document.getElementById('setting').textContent);
const $ = (sel, root = document) => root.querySelector(sel);
const opened = new Set(); // threads shown open: 'slack:<ts>', 'discord:<id>'
const drafts = {}; // what is typed in each box, kept across redraws
let replyTo = null; // the X post the next post answers

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

async function call(base, path, body) {
  const init = body === undefined ? {} : {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
  const answer = await fetch(base + path, init);
  const text = await answer.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
  if (!answer.ok) {
    throw new Error((json && (json.detail || json.message || json.error)) || text || answer.status);
  }
  return json;
}

function fail(pane, error) {
  let box = $(`#${pane} .error`);
  if (!box) box = $(`#${pane}`).insertBefore(el('div', { class: 'error', role: 'alert' }), $(`#${pane} .feed`));
  box.textContent = error ? String(error.message || error) : '';
}

// Acts, shows what went wrong in the pane, and clears it when all is well.
function act(pane, work) {
  return work().then(() => fail(pane, null), (e) => fail(pane, e));
}

function redraw(feed, nodes) {
  const focused = document.activeElement && document.activeElement.dataset.keep;
  const bottom = feed.scrollHeight - feed.clientHeight - feed.scrollTop < 24;
  const scroll = feed.scrollTop;
  feed.replaceChildren(...nodes);
  for (const box of feed.querySelectorAll('[data-keep]')) {
    if (drafts[box.dataset.keep] !== undefined) box.value = drafts[box.dataset.keep];
    if (box.dataset.keep === focused) box.focus();
  }
  feed.scrollTop = bottom ? feed.scrollHeight : scroll;
}
document.addEventListener('input', (e) => {
  if (e.target.dataset && e.target.dataset.keep) drafts[e.target.dataset.keep] = e.target.value;
});

function follow(url, refresh) {
  let queued = null;
  const source = new EventSource(url);
  source.addEventListener('changed', () => {
    clearTimeout(queued);
    queued = setTimeout(refresh, 50);
  });
}

function when(at) {
  if (!at) return '';
  const d = typeof at === 'number' ? new Date(at * 1000) : new Date(at);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function ago(seconds) {
  const s = Math.round(seconds - Date.now() / 1000);
  const n = Math.abs(s);
  const span = n < 90 ? `${n} seconds` : n < 5400 ? `${Math.round(n / 60)} minutes` : `${Math.round(n / 3600)} hours`;
  return s >= 0 ? `in ${span}` : `${span} ago`;
}

// Inline markup: the earliest match of any rule becomes a node, the rest
// stays text.
function inline(text, rules) {
  const out = document.createDocumentFragment();
  let rest = text || '';
  while (rest) {
    let best = null;
    for (const [re, make] of rules) {
      const m = re.exec(rest);
      if (m && (!best || m.index < best.m.index)) best = { m, make };
    }
    if (!best) { out.append(rest); break; }
    out.append(rest.slice(0, best.m.index), ...[best.make(best.m)].flat());
    rest = rest.slice(best.m.index + best.m[0].length);
  }
  return out;
}

const EMOJI = {
  rotating_light: '🚨', hourglass: '⌛', hourglass_flowing_sand: '⏳', repeat: '🔁',
  white_check_mark: '✅', warning: '⚠️', eyes: '👀', x: '❌', bell: '🔔', speech_balloon: '💬',
  zzz: '💤', lock: '🔒', link: '🔗', inbox_tray: '📥', email: '📧', envelope: '✉️',
  red_circle: '🔴', large_orange_circle: '🟠', large_blue_circle: '🔵', white_circle: '⚪', pray: '🙏',
};

function person(list, id) {
  const p = (list || []).find((x) => x.id === id);
  return p ? p.name : id;
}

// Slack's mrkdwn, as its client shows it.
function mrkdwn(text) {
  const unescape = (t) => t.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const rules = [
    [/<([^<>]+)>/, (m) => {
      const [target, label] = m[1].split('|');
      if (target.startsWith('@')) {
        const id = target.slice(1);
        return el('b', {}, '@' + (id === S.slack.bot ? 'perch' : person(S.slack.people, id)));
      }
      if (target.startsWith('!date^')) {
        const [, ts, format] = target.split('^');
        const t = Number(ts);
        return format
          .replace('{date_short_pretty}', new Date(t * 1000).toLocaleDateString([], { month: 'short', day: 'numeric' }))
          .replace('{time}', when(t)).replace('{ago}', ago(t));
      }
      if (target.startsWith('!')) return '@' + target.slice(1);
      return el('a', { href: target, target: '_blank', rel: 'noopener' }, unescape(label || target));
    }],
    [/\*([^*\n]+)\*/, (m) => el('b', {}, mrkdwn(m[1]))],
    [/(^|[\s(])_([^_\n]+)_(?=$|[\s.,;:!?)])/, (m) => [m[1], el('i', {}, mrkdwn(m[2]))]],
    [/~([^~\n]+)~/, (m) => el('s', {}, mrkdwn(m[1]))],
    [/`([^`]+)`/, (m) => el('code', {}, unescape(m[1]))],
    [/:([a-z0-9_+-]+):/, (m) => EMOJI[m[1]] || m[0]],
    [/&(lt|gt|amp);/, (m) => ({ lt: '<', gt: '>', amp: '&' })[m[1]]],
  ];
  return inline(text, rules);
}

// A Slack text: lines starting with > are quotes.
function slackText(text) {
  const out = document.createDocumentFragment();
  (text || '').split('\n').forEach((line, i) => {
    if (i) out.append('\n');
    const quote = line.match(/^(?:>|&gt;) ?(.*)$/);
    out.append(quote ? el('span', { class: 'quote' }, mrkdwn(quote[1])) : mrkdwn(line));
  });
  return out;
}

// Discord's markdown, as its client shows it.
function markdown(text) {
  const rules = [
    [/\*\*([^*]+)\*\*/, (m) => el('b', {}, markdown(m[1]))],
    [/\*([^*\n]+)\*/, (m) => el('i', {}, markdown(m[1]))],
    [/~~([^~]+)~~/, (m) => el('s', {}, markdown(m[1]))],
    [/`([^`]+)`/, (m) => el('code', {}, m[1])],
    [/<@!?(\d+)>/, (m) => el('b', {}, '@' + person(S.discord.people, m[1]))],
    [/<t:(\d+)(?::([a-zA-Z]))?>/, (m) => (m[2] === 'R' ? ago(Number(m[1])) : when(Number(m[1])))],
    [/\[([^\]]+)\]\(([^)\s]+)\)/, (m) => el('a', { href: m[2], target: '_blank', rel: 'noopener' }, m[1])],
  ];
  return inline(text, rules);
}

/* ---------------------------------------------------------------- X */

async function refreshX() {
  const t = await call(S.x.url, '/_sandbox/timeline');
  const talks = new Map();
  const add = (key, kind, item) => {
    if (!talks.has(key)) talks.set(key, { kind, items: [] });
    talks.get(key).items.push(item);
  };
  for (const p of t.posts) add('post:' + p.conversation_id, 'post', p);
  for (const d of t.dms) add('dm:' + d.conversation_id, 'dm', d);
  const last = (talk) => Math.max(...talk.items.map((i) => Date.parse(i.created_at) || 0));
  const sorted = [...talks.entries()].sort((a, b) => last(b[1]) - last(a[1]));
  const nodes = sorted.map(([key, talk]) => {
    const customer = talk.items.map((i) => i.author || i.from).find((h) => !t.accounts.includes(h));
    const title = talk.kind === 'dm' ? `Direct messages: @${customer} and @${S.x.handle}` : 'Conversation';
    const items = talk.items.map((i) => el('div', {
      class: 'post' + (i.brand ? ' brand' : ''), 'data-post': i.id, 'data-kind': talk.kind,
    },
      el('span', { class: 'by' }, '@' + (i.author || i.from)),
      el('span', { class: 'at' }, when(i.created_at)),
      i.in_reply_to ? el('span', { class: 'at' }, '· reply') : null,
      el('div', { class: 'text' }, i.text || ''),
      talk.kind === 'post'
        ? el('button', { type: 'button', class: 'toggle', 'data-reply': i.id, onclick: () => replyAs(i, customer) }, 'Reply')
        : null));
    const write = talk.kind === 'dm'
      ? el('button', { type: 'button', class: 'toggle', onclick: () => dmAs(customer) }, `Write as @${customer}`)
      : null;
    return el('div', { class: 'conversation', 'data-conversation': key }, el('h3', {}, title), items, write);
  });
  redraw($('#x-feed'), nodes.length ? nodes : [el('p', { class: 'empty' }, `Nothing yet. Post as a customer naming @${S.x.handle}.`)]);
}

function replyAs(post, customer) {
  replyTo = { id: post.id, author: post.author };
  if (customer && $('#x-from').value === S.x.handle) $('#x-from').value = customer;
  $('#x-replying-to').textContent = '@' + (post.author || '') + ': ' + (post.text || '').slice(0, 60);
  $('#x-replying').hidden = false;
  $('#x-text').focus();
}

function dmAs(customer) {
  $('#x-from').value = customer;
  $('#x-text').focus();
}

function endReply() {
  replyTo = null;
  $('#x-replying').hidden = true;
}

function setUpX() {
  $('#x-text').placeholder = `@${S.x.handle} my order never arrived`;
  $('#x-cancel-reply').addEventListener('click', endReply);
  $('#x-compose').addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { from: $('#x-from').value.trim(), text: $('#x-text').value };
    if (replyTo) {
      // X's composer starts a reply with the handle it answers.
      const handle = '@' + replyTo.author;
      if (replyTo.author !== body.from && !body.text.startsWith(handle)) body.text = `${handle} ${body.text}`;
      body.in_reply_to = replyTo.id;
    }
    act('x', async () => {
      await call(S.x.url, '/_sandbox/posts', body);
      $('#x-text').value = '';
      endReply();
    });
  });
  $('#x-dm').addEventListener('click', () => act('x', async () => {
    await call(S.x.url, '/_sandbox/dms', { from: $('#x-from').value.trim(), to: S.x.handle, text: $('#x-text').value });
    $('#x-text').value = '';
  }));
  follow(S.x.url + '/_sandbox/events', () => act('x', refreshX));
}

/* ------------------------------------------------------------ Slack */

const slackWho = () => $('#slack-who').value;

function slackButton(b, messageTs) {
  return el('button', {
    type: 'button', class: b.style || null, 'data-action': b.action_id,
    onclick: () => act('slack', () => call(S.slack.url, '/_sandbox/button', {
      channel: S.slack.channel, message_ts: messageTs, user: slackWho(), action_id: b.action_id,
    })),
  }, (b.text && b.text.text) || b.action_id);
}

// Block Kit as Slack lays it out: sections (text, fields), context,
// actions, headers and dividers.
function blocks(list, messageTs) {
  return (list || []).map((b) => {
    switch (b.type) {
      case 'section': return el('div', { class: 'section' },
        b.text ? el('div', { class: 'text' }, slackText(b.text.text)) : null,
        b.fields ? el('div', { class: 'fields' }, b.fields.map((f) => el('div', { class: 'text' }, slackText(f.text)))) : null,
        b.accessory && b.accessory.type === 'button' ? slackButton(b.accessory, messageTs) : null);
      case 'context': return el('div', { class: 'context' }, (b.elements || []).map((e) => mrkdwn(e.text || '')));
      case 'actions': return el('div', { class: 'actions' },
        (b.elements || []).filter((e) => e.type === 'button').map((e) => slackButton(e, messageTs)));
      case 'header': return el('div', { class: 'title' }, el('b', {}, (b.text && b.text.text) || ''));
      case 'divider': return el('hr');
      default: return null;
    }
  });
}

function slackMessage(m) {
  const body = m.blocks ? el('div', { class: 'card' }, blocks(m.blocks, m.ts)) : el('div', { class: 'text' }, slackText(m.text));
  return el('div', { class: 'msg', 'data-ts': m.ts },
    el('span', { class: 'by' }, m.bot_id ? 'perch' : m.user_name),
    m.bot_id ? el('span', { class: 'at' }, 'APP') : null,
    el('span', { class: 'at' }, when(Number(m.ts)) + (m.edited ? ' (edited)' : '')),
    body,
    m.reactions && m.reactions.length ? el('div', { class: 'reactions' }, m.reactions.map((r) => `:${r}:`).join(' ')) : null);
}

function slackEphemeral(e) {
  return el('div', { class: 'ephemeral', 'data-ephemeral': e.ts },
    el('div', { class: 'only' }, 'Only visible to you'),
    e.blocks ? blocks(e.blocks, e.ts) : el('div', { class: 'text' }, slackText(e.text)));
}

async function refreshSlack() {
  const who = slackWho();
  const [channel, mine] = await Promise.all([
    call(S.slack.url, `/_sandbox/channels/${S.slack.channel}`),
    call(S.slack.url, `/_sandbox/ephemerals/${who}`),
  ]);
  const roots = channel.messages.filter((m) => !m.thread_ts || m.thread_ts === m.ts);
  const whispers = mine.ephemerals.filter((e) => e.channel === S.slack.channel);
  const nodes = roots.map((root) => {
    const replies = channel.messages.filter((m) => m.thread_ts === root.ts && m.ts !== root.ts);
    const key = 'slack:' + root.ts;
    const open = opened.has(key);
    const toggle = el('button', {
      type: 'button', class: 'toggle', 'data-thread': root.ts,
      onclick: () => { open ? opened.delete(key) : opened.add(key); act('slack', refreshSlack); },
    }, open ? 'Hide the thread' : replies.length ? `${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}` : 'Reply in thread');
    const thread = open ? el('div', { class: 'thread', 'data-thread-of': root.ts },
      replies.map(slackMessage),
      whispers.filter((e) => e.thread_ts === root.ts).map(slackEphemeral),
      el('form', {
        class: 'compose', autocomplete: 'off',
        onsubmit: (e) => {
          e.preventDefault();
          const box = e.target.querySelector('input');
          // Picking @perch in Slack's box writes the bot's mention.
          const text = box.value.replace(/(^|\s)@perch\b/g, `$1<@${S.slack.bot}>`);
          act('slack', async () => {
            await call(S.slack.url, '/_sandbox/reply', { channel: S.slack.channel, thread_ts: root.ts, user: slackWho(), text });
            box.value = '';
            delete drafts[box.dataset.keep];
          });
        },
      }, el('input', { 'data-keep': 'slack-reply-' + root.ts, placeholder: 'Reply… (@perch resolve, @perch claim)' }),
      el('button', { type: 'submit' }, 'Send'))) : null;
    return el('div', { class: 'root' }, slackMessage(root), toggle, thread);
  });
  const roots_ts = new Set(roots.map((r) => r.ts));
  const loose = whispers.filter((e) => !e.thread_ts || !roots_ts.has(e.thread_ts) || !opened.has('slack:' + e.thread_ts));
  nodes.push(...loose.slice(-3).map(slackEphemeral));
  redraw($('#slack-feed'), nodes.length ? nodes : [el('p', { class: 'empty' }, 'No tickets yet.')]);
}

function setUpSlack() {
  if (!S.slack) { $('#slack').hidden = true; return; }
  $('#slack-channel').textContent = '#support · ' + S.slack.channel;
  for (const p of S.slack.people) $('#slack-who').append(el('option', { value: p.id }, `${p.name} (${p.role})`));
  $('#slack-who').addEventListener('change', () => act('slack', refreshSlack));
  $('#slack-command').addEventListener('submit', (e) => {
    e.preventDefault();
    const box = $('#slack-command-text');
    const text = box.value.replace(/^\s*\/perch\b/, '').trim();
    act('slack', async () => {
      await call(S.slack.url, '/_sandbox/command', { channel: S.slack.channel, user: slackWho(), text });
      box.value = '';
      delete drafts['slack-command'];
    });
  });
  follow(S.slack.url + '/_sandbox/events', () => act('slack', refreshSlack));
}

/* ---------------------------------------------------------- Discord */

const discordWho = () => $('#discord-who').value;
const discordName = () => person(S.discord.people, discordWho());

function discordButtons(rows, channel, message) {
  return (rows || []).map((row) => el('div', { class: 'actions' },
    (row.components || []).filter((c) => c.type === 2).map((c) => el('button', {
      type: 'button', class: c.style === 4 ? 'danger' : c.style === 3 ? 'primary' : null,
      disabled: c.disabled, 'data-custom-id': c.custom_id,
      onclick: () => act('discord', () => call(S.discord.url, '/_sandbox/button', {
        channel: String(channel), message: String(message), user: discordWho(), name: discordName(), custom_id: c.custom_id,
      })),
    }, c.label || c.custom_id))));
}

function embed(e) {
  const color = e.color ? '#' + Number(e.color).toString(16).padStart(6, '0') : null;
  return el('div', { class: 'embed', style: color ? `border-left-color: ${color}` : null },
    e.title ? el('div', { class: 'title' }, markdown(e.title)) : null,
    e.description ? el('div', { class: 'text' }, markdown(e.description)) : null,
    e.fields ? el('div', { class: 'fields' }, e.fields.map((f) => el('div', {},
      el('b', {}, markdown(f.name)), el('div', { class: 'text' }, markdown(f.value))))) : null,
    e.footer ? el('div', { class: 'footer' }, e.footer.text) : null);
}

function discordMessage(m, whisper) {
  const whole = m.message || m;
  const author = (whole.author && (whole.author.global_name || whole.author.username)) || m.author;
  return el('div', { class: 'msg' + (whisper ? ' ephemeral' : ''), 'data-id': whole.id },
    whisper ? el('div', { class: 'only' }, 'Only you can see this') : null,
    el('span', { class: 'by' }, author),
    whole.author && whole.author.bot ? el('span', { class: 'at' }, 'BOT') : null,
    whole.edited_timestamp ? el('span', { class: 'at' }, '(edited)') : null,
    whole.content ? el('div', { class: 'text' }, markdown(whole.content)) : null,
    (whole.embeds || []).map(embed),
    discordButtons(whole.components, whole.channel_id, whole.id),
    (whole.reactions || []).length ? el('div', { class: 'reactions' }, whole.reactions.map((r) => r.emoji.name).join(' ')) : null);
}

function discordSend(channel) {
  return el('form', {
    class: 'compose', autocomplete: 'off',
    onsubmit: (e) => {
      e.preventDefault();
      const box = e.target.querySelector('input');
      act('discord', async () => {
        await discordSay(channel, box.value);
        box.value = '';
        delete drafts[box.dataset.keep];
      });
    },
  }, el('input', { 'data-keep': 'discord-reply-' + channel, placeholder: 'Message… (or /perch claim, /perch resolve)' }),
  el('button', { type: 'submit' }, 'Send'));
}

// A message, or `/perch <subcommand> [text]` run where it is typed.
function discordSay(channel, typed) {
  // Snowflakes travel as strings, as Discord writes them.
  const who = { channel: String(channel), user: discordWho(), name: discordName() };
  const command = typed.match(/^\s*\/perch\s+(\S+)\s*(.*)$/s);
  if (command) {
    return call(S.discord.url, '/_sandbox/command', { ...who, subcommand: command[1], text: command[2] || null });
  }
  return call(S.discord.url, '/_sandbox/message', { ...who, text: typed });
}

async function refreshDiscord() {
  const [channel, mine] = await Promise.all([
    call(S.discord.url, `/_sandbox/channels/${S.discord.channel}`),
    call(S.discord.url, `/_sandbox/whispers/${discordWho()}`),
  ]);
  const threads = channel.threads.map((t) => t.id);
  const shown = await Promise.all(threads.filter((id) => opened.has('discord:' + id))
    .map((id) => call(S.discord.url, `/_sandbox/channels/${id}`)));
  const inside = new Map(shown.map((t) => [t.channel, t]));
  const thread = (id, name, tags) => {
    const key = 'discord:' + id;
    const open = opened.has(key);
    const toggle = el('button', {
      type: 'button', class: 'toggle', 'data-thread': id,
      onclick: () => { open ? opened.delete(key) : opened.add(key); act('discord', refreshDiscord); },
    }, open ? 'Hide the thread' : `Thread: ${name}`);
    const tagged = tags && tags.length ? el('div', { class: 'tags' }, tags.map((t) => el('span', {}, t))) : null;
    const body = open && inside.has(id) ? el('div', { class: 'thread', 'data-thread-of': id },
      inside.get(id).messages.map((m) => discordMessage(m, false)),
      mine.whispers.filter((w) => w.channel_id === id).map((w) => discordMessage(w, true)),
      discordSend(id)) : null;
    return [tagged, toggle, body];
  };
  const nodes = channel.messages.map((m) => {
    const t = channel.threads.find((x) => x.id === m.id);
    return el('div', { class: 'root' }, discordMessage(m, false), t ? thread(t.id, t.name, t.tags) : null);
  });
  // A forum's posts have no message in the forum itself.
  for (const t of channel.threads.filter((x) => !channel.messages.some((m) => m.id === x.id))) {
    nodes.push(el('div', { class: 'root' }, thread(t.id, t.name, t.tags)));
  }
  const here = mine.whispers.filter((w) => w.channel_id === S.discord.channel || !threads.includes(w.channel_id)
    || !opened.has('discord:' + w.channel_id));
  nodes.push(...here.slice(-3).map((w) => discordMessage(w, true)));
  redraw($('#discord-feed'), nodes.length ? nodes : [el('p', { class: 'empty' }, 'No tickets yet.')]);
}

function setUpDiscord() {
  if (!S.discord) { $('#discord').hidden = true; return; }
  $('#discord-channel').textContent = '#support · ' + S.discord.channel;
  for (const p of S.discord.people) $('#discord-who').append(el('option', { value: p.id }, `${p.name} (${p.role})`));
  $('#discord-who').addEventListener('change', () => act('discord', refreshDiscord));
  $('#discord-command').addEventListener('submit', (e) => {
    e.preventDefault();
    const box = $('#discord-command-text');
    act('discord', async () => {
      await discordSay(S.discord.channel, box.value.startsWith('/') ? box.value : '/perch ' + box.value);
      box.value = '';
      delete drafts['discord-command'];
    });
  });
  follow(S.discord.url + '/_sandbox/events', () => act('discord', refreshDiscord));
}

/* ------------------------------------------------------------ Scene */

async function refreshScene() {
  const scene = await (await fetch('/sandbox/scene')).json();
  const list = $('#scene-lines');
  list.replaceChildren(...scene.lines.filter((l) => l.trim()).map((l) => el('li', { class: l.startsWith('▶') ? 'step' : null }, l)));
  list.scrollTop = list.scrollHeight;
  $('#scene-play').disabled = scene.playing;
  $('#scene-play').textContent = scene.lines.length ? 'Play the scene again' : 'Play the scene';
  $('#scene-state').textContent = scene.playing ? 'playing…' : scene.lines.length ? 'played' : '';
}

function setUpScene() {
  $('#scene-play').addEventListener('click', () => fetch('/sandbox/scene', { method: 'POST' }).then(refreshScene));
  follow('/sandbox/scene/events', refreshScene);
}

setUpX();
setUpSlack();
setUpDiscord();
setUpScene();
