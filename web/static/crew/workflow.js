// The crew workflow (reportable statuses, the ones that need a facility, outcome kinds, closable
// job states) as the service publishes it at /crew/workflow.json; the last copy is kept in
// localStorage so the page works offline with the workflow it last saw.
import { api } from "/static/lib/session.js";

const WORKFLOW_KEY = "mae.crew.workflow";

/** The workflow from the service, or the copy kept from last time (null: never loaded). */
export async function loadWorkflow() {
  try {
    const wf = await api("/crew/workflow.json");
    localStorage.setItem(WORKFLOW_KEY, JSON.stringify(wf));
    return wf;
  } catch {
    try {
      return JSON.parse(localStorage.getItem(WORKFLOW_KEY) || "null");
    } catch {
      return null;
    }
  }
}
