/** Azure Functions entry (Node v4 programming model): registers the triggers. */
import { app } from '@azure/functions';
import { busConsumers, busTrigger, httpHandler, periodicHandler } from './handlers.js';

app.http('api', {
  route: '{*path}',
  methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
  authLevel: 'anonymous',
  handler: httpHandler,
});
// Subscriptions are session-enabled (messages of one account stay in order); the connection
// is `KOPITRA_SERVICE_BUS` (a connection string, or `__fullyQualifiedNamespace` with an identity).
for (const c of busConsumers)
  app.serviceBusTopic(c.name, {
    connection: 'KOPITRA_SERVICE_BUS',
    topicName: c.topic,
    subscriptionName: c.subscription,
    isSessionsEnabled: true,
    handler: busTrigger(c.topic, c.handler, c.subscription),
  });
app.timer('periodic', { schedule: '*/30 * * * * *', handler: periodicHandler });
