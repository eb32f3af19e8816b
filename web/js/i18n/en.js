// English strings. The pages are written in English, so a key is its own English text; only
// texts with placeholders ({name}) are listed here.
export default {
  'You are number {position} in the queue, about {wait} s': 'You are number {position} in the queue, about {wait} s',
  'Nobody is online right now. Leave a message: it is kept, and an agent answers when one is back.':
    'Nobody is online right now. Leave a message: it is kept, and an agent answers when one is back.',
};
