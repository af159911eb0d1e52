/**
 * Which topic gets a problem's e-mails (issue 25): the topic routed to its account, else to the first
 * organizational unit of the routing map that holds the account, else the e-mail topic. Pure: the OUs
 * above an account come in (the remediate flow asks a NotificationRouter port, which reads them with
 * organizations:ListParents), and the route chosen is kept on the proposal (`notificationRoute`), so
 * every later message of the problem (approved, revoked, still failing) goes to the same topic without
 * asking again, from either function.
 */
import { parseTopicArn } from '../commons/arn';
import { isTopicName, ROUTES, routeProblem } from '../commons/settings';

/** One route, resolved: the account or OU id, and the topic's ARN. */
export interface NotificationRoute {
  key: string;
  topicArn: string;
}

/**
 * The routes of `KEYMEND_NOTIFICATION_ROUTES` (`KEY=TOPIC,...`, in order), names resolved to ARNs in
 * the e-mail topic's account and Region (the topics the stack creates). '' gives none.
 * @throws Error saying what is wrong with the first bad route
 */
export function parseRoutes(value: string, emailTopicArn: string): NotificationRoute[] {
  const email = parseTopicArn(emailTopicArn);
  if (email === null) throw new Error(`the e-mail topic ${JSON.stringify(emailTopicArn)} is not a topic ARN`);
  const routes: NotificationRoute[] = [];
  for (const item of value.split(',').map((part) => part.trim())) {
    if (item === '') continue;
    const equals = item.indexOf('=');
    if (equals < 0) throw new Error(`${JSON.stringify(item)} is not KEY=TOPIC`);
    const key = item.slice(0, equals).trim();
    const topic = item.slice(equals + 1).trim();
    const problem = routeProblem(key, topic);
    if (problem !== undefined) throw new Error(problem);
    if (routes.some((route) => route.key === key)) throw new Error(`'${key}' is routed twice`);
    const topicArn = isTopicName(topic)
      ? `arn:${email.partition}:sns:${email.region}:${email.accountId}:${topic}`
      : topic;
    routes.push({ key, topicArn });
  }
  if (routes.length > ROUTES.maxRoutes)
    throw new Error(`${routes.length} routes: at most ${ROUTES.maxRoutes}`);
  return routes;
}

/** True when some route names an OU: only then are the OUs above an account worth reading. */
export function routesNeedUnits(routes: readonly NotificationRoute[]): boolean {
  return routes.some((route) => ROUTES.organizationalUnit.test(route.key));
}

/** True when some route names `accountId` itself: its OUs need not be read. */
export function routesName(routes: readonly NotificationRoute[], accountId: string): boolean {
  return routes.some((route) => route.key === accountId);
}

/**
 * The route for a problem in `accountId`: the account's own route, else the first OU route (in the
 * map's order) whose OU holds the account (`units`: the OUs above it, any depth; null when not known).
 * Null when none applies: the e-mail topic.
 */
export function routeFor(
  routes: readonly NotificationRoute[],
  accountId: string,
  units: readonly string[] | null,
): NotificationRoute | null {
  const own = routes.find((route) => route.key === accountId);
  if (own) return own;
  if (units === null) return null;
  return (
    routes.find((route) => ROUTES.organizationalUnit.test(route.key) && units.includes(route.key)) ?? null
  );
}

/**
 * The topic of a message about a problem in `accountId` whose proposal kept the route `kept`: that
 * route's topic while the map still has it, else the account's own route's, else null (the e-mail
 * topic). A kept account route counts only for its own account.
 */
export function routedTopic(
  routes: readonly NotificationRoute[],
  accountId: string,
  kept: string | undefined,
): string | null {
  const stillThere = kept === undefined ? undefined : routes.find((route) => route.key === kept);
  if (stillThere && (!ROUTES.account.test(stillThere.key) || stillThere.key === accountId)) {
    return stillThere.topicArn;
  }
  return routeFor(routes, accountId, null)?.topicArn ?? null;
}
