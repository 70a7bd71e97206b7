// Sends one event of each type with the official Segment Node client to the
// collector at $HOST with $WRITE_KEY, then flushes; exits 1 on any delivery error.
import { Analytics } from '@segment/analytics-node'

const analytics = new Analytics({
  writeKey: process.env.WRITE_KEY,
  host: process.env.HOST,
  path: '/v1/batch',
  flushAt: 3,
  flushInterval: 200,
  maxRetries: 2,
})

const errors = []
analytics.on('error', (err) => errors.push(err))

analytics.track({ userId: 'user-2', event: 'Plan Upgraded', properties: { from: 'free', to: 'pro' }, messageId: 'node-track' })
analytics.identify({ userId: 'user-2', traits: { plan: 'pro' }, messageId: 'node-identify' })
analytics.page({ userId: 'user-2', name: 'Pricing', properties: { url: 'https://example.com/pricing' }, messageId: 'node-page' })
analytics.screen({ userId: 'user-2', name: 'Home', messageId: 'node-screen' })
analytics.group({ userId: 'user-2', groupId: 'org-2', traits: { name: 'Org 2' }, messageId: 'node-group' })
analytics.alias({ userId: 'user-2', previousId: 'anon-2', messageId: 'node-alias' })

await analytics.closeAndFlush({ timeout: 20000 })
if (errors.length) {
  console.error('delivery errors:', errors.map((e) => `${e.code}: ${e.reason ?? e.message ?? e}`).join('; '))
  process.exit(1)
}
console.log('sent 6 events')
